using Anshimi.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Upstream;

/// <summary>
/// The link to the cloud as the box reports it locally (/healthz, the status LED): its session state with the
/// reason, and whether it has been down longer than <see cref="CloudLinkOptions.UnreachableAfter"/>. It follows the
/// cloud session's own state changes.
/// </summary>
public sealed class CloudLinkStatus
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _unreachableAfter;
    private MqttConnectionState _state = MqttConnectionState.Disconnected;
    private string _reason = "not started";
    private DateTimeOffset _since;
    private DateTimeOffset? _downSince;

    public CloudLinkStatus([FromKeyedServices(CloudLink.SessionKey)] MqttSession cloud, IOptions<CloudLinkOptions> options, TimeProvider time)
    {
        _time = time;
        _unreachableAfter = options.Value.UnreachableAfter;
        _since = time.GetUtcNow();

        // A box that never reached the cloud since it started is as cut off as one that lost it.
        _downSince = _since;
        if (cloud.State != MqttConnectionState.Disconnected)
        {
            Set(cloud.State, cloud.StateReason);
        }

        cloud.StateChanged += (_, e) => Set(e.State, e.Reason);
    }

    public TimeSpan UnreachableAfter => _unreachableAfter;

    public CloudLinkSnapshot Current
    {
        get
        {
            lock (_lock)
            {
                DateTimeOffset now = _time.GetUtcNow();
                return new CloudLinkSnapshot(_state, _reason, _since, _downSince, _downSince is { } down && now - down >= _unreachableAfter);
            }
        }
    }

    public bool IsUnreachable => Current.Unreachable;

    /// <summary>When the link went down, or null while it is up.</summary>
    public DateTimeOffset? DownSince
    {
        get
        {
            lock (_lock)
            {
                return _downSince;
            }
        }
    }

    private void Set(MqttConnectionState state, string reason)
    {
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            _state = state;
            _reason = reason;
            _since = now;
            if (state == MqttConnectionState.Connected)
            {
                _downSince = null;
            }
            else
            {
                _downSince ??= now;
            }
        }
    }
}

/// <summary>One reading of <see cref="CloudLinkStatus"/>.</summary>
public readonly record struct CloudLinkSnapshot(MqttConnectionState State, string Reason, DateTimeOffset Since, DateTimeOffset? DownSince, bool Unreachable);

using System.Collections.Concurrent;
using Anshimi.CloudBridge.Escorts;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Escorts;

/// <summary>Keeps every light command the planner issues, in order.</summary>
public sealed class RecordingLightPublisher : ILightCommandPublisher
{
    private readonly ConcurrentQueue<(string Gateway, LightCommandEnvelope Command)> _commands = new();

    public IReadOnlyList<(string Gateway, LightCommandEnvelope Command)> Commands => _commands.ToList();

    public void Publish(string gatewayId, LightCommandEnvelope command) => _commands.Enqueue((gatewayId, command));

    public void Clear() => _commands.Clear();

    /// <summary>The light ids commanded into <paramref name="mode"/> since the last <see cref="Clear"/>.</summary>
    public IReadOnlyList<string> LightsIn(string mode) =>
        Commands.Where(c => c.Command.Mode == mode).SelectMany(c => c.Command.Lights).Order(StringComparer.Ordinal).ToList();
}

using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Anshimi.Mqtt;

/// <summary>
/// <see cref="IMqttTransport"/> over an MQTTnet 5 client speaking MQTT 3.1.1. Translates MQTTnet's
/// exceptions and reason codes into this library's typed exceptions.
/// </summary>
public sealed class MqttNetTransport : IMqttTransport
{
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly TimeSpan _acknowledgementTimeout;
    private readonly X509Certificate2Collection? _authorities;
    private readonly X509Certificate2? _clientCertificate;
    private string _endpoint;
    private volatile bool _disconnecting;

    public MqttNetTransport(MqttClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _endpoint = $"{options.Host}:{options.Port}";
        _acknowledgementTimeout = options.CommunicationTimeout;
        if (options.TlsCaFile is not null)
        {
            // Loaded once, so a bad file fails here and not on some later reconnect.
            _authorities = [];
            _authorities.ImportFromPemFile(options.TlsCaFile);
            _clientCertificate = options.TlsClientCertificateFile is null ? null : X509Certificate2.CreateFromPemFile(options.TlsClientCertificateFile, options.TlsClientKeyFile);
        }

        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += OnDisconnectedAsync;
    }

    public event EventHandler<string>? ConnectionLost;

    public Func<MqttMessage, Task>? MessageReceived { get; set; }

    public bool IsConnected => _client.IsConnected;

    public async Task<bool> ConnectAsync(MqttEndpoint endpoint, CancellationToken cancellationToken)
    {
        _disconnecting = false;
        _endpoint = endpoint.ToString();
        MqttClientConnectResult result;
        try
        {
            result = await _client.ConnectAsync(Build(endpoint), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is not ArgumentException)
        {
            // MQTTnet reports a cancelled wait as its own timeout; the caller asked for cancellation.
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception ex) when (ex is MqttCommunicationException or SocketException or IOException or AuthenticationException or InvalidOperationException or OperationCanceledException or MqttProtocolViolationException)
        {
            throw Translate(ex, "connect to " + _endpoint);
        }

        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw Refused(result.ResultCode, null);
        }

        return result.IsSessionPresent;
    }

    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(new ReadOnlySequence<byte>(payload))
            .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)qos)
            .WithRetainFlag(retain)
            .Build();
        MqttClientPublishResult result;

        // MQTTnet waits for a PUBACK as long as the connection lives; the caller gets an answer sooner.
        using var acknowledged = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        acknowledged.CancelAfter(_acknowledgementTimeout);
        try
        {
            result = await _client.PublishAsync(message, acknowledged.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is not ArgumentException)
        {
            // MQTTnet reports a cancelled wait as its own timeout; the caller asked for cancellation.
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception ex) when (ex is MqttCommunicationException or SocketException or IOException or InvalidOperationException or OperationCanceledException or MqttProtocolViolationException)
        {
            throw Translate(ex, $"publish to '{topic}'");
        }
        catch (ArgumentException ex)
        {
            throw new MqttPublishRefusedException($"publish to '{topic}' refused: {ex.Message}", ex);
        }

        if (!result.IsSuccess && result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
        {
            throw new MqttPublishRefusedException($"publish to '{topic}' refused: {result.ReasonCode}");
        }
    }

    public async Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken)
    {
        var subscription = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(topicFilter, (MqttQualityOfServiceLevel)qos)
            .Build();
        MqttClientSubscribeResult result;
        try
        {
            result = await _client.SubscribeAsync(subscription, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is not ArgumentException)
        {
            // MQTTnet reports a cancelled wait as its own timeout; the caller asked for cancellation.
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception ex) when (ex is MqttCommunicationException or SocketException or IOException or InvalidOperationException or OperationCanceledException or MqttProtocolViolationException)
        {
            throw Translate(ex, $"subscribe to '{topicFilter}'");
        }
        catch (ArgumentException ex)
        {
            throw new MqttSubscriptionRefusedException(topicFilter, $"the subscription to '{topicFilter}' is invalid: {ex.Message}");
        }

        MqttClientSubscribeResultCode code = result.Items.Count > 0 ? result.Items.First().ResultCode : MqttClientSubscribeResultCode.UnspecifiedError;
        if (code > MqttClientSubscribeResultCode.GrantedQoS2)
        {
            throw new MqttSubscriptionRefusedException(topicFilter, $"the broker refused the subscription to '{topicFilter}'");
        }
    }

    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        _disconnecting = true;
        if (!_client.IsConnected)
        {
            return;
        }

        try
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptions(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MqttCommunicationException or SocketException or IOException)
        {
            // The connection was going anyway; without DISCONNECT the broker may publish the will.
        }
    }

    public ValueTask DisposeAsync()
    {
        _disconnecting = true;
        _client.ApplicationMessageReceivedAsync -= OnMessageAsync;
        _client.DisconnectedAsync -= OnDisconnectedAsync;
        _client.Dispose();
        _clientCertificate?.Dispose();
        return ValueTask.CompletedTask;
    }

    private MQTTnet.MqttClientOptions Build(MqttEndpoint endpoint)
    {
        MqttClientOptions options = _options;
        MqttClientOptionsBuilder builder = new MqttClientOptionsBuilder()
            // MQTTnet's TCP channel sets TCP_NODELAY: alarm traffic is small packets back to back (ack,
            // then envelope), and with Nagle on the second waits for the peer's delayed ACK.
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithClientId(options.ClientId)
            .WithCleanSession(options.CleanSession)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(options.KeepAliveSeconds))
            .WithTimeout(options.CommunicationTimeout);
        // An empty user name (a setting cleared from the environment) is none: a certificate then signs the client in.
        if (!string.IsNullOrEmpty(options.Username))
        {
            builder.WithCredentials(options.Username, options.Password);
        }

        if (options.LastWill is { } will)
        {
            builder.WithWillTopic(will.Topic)
                .WithWillPayload(will.Payload)
                .WithWillQualityOfServiceLevel((MqttQualityOfServiceLevel)will.Qos)
                .WithWillRetain(will.Retain);
        }

        if (_authorities is { } authorities)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls()
                    .WithTargetHost(endpoint.Host)
                    .WithSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13)
                    .WithCertificateValidationHandler(e => ChainsToPinnedAuthority(e, authorities));
                if (_clientCertificate is not null)
                {
                    tls.WithClientCertificates([_clientCertificate]);
                }
            });
        }

        return builder.Build();
    }

    /// <summary>The broker's certificate must name the host and chain to the configured CA alone, never to the system store.</summary>
    private static bool ChainsToPinnedAuthority(MqttClientCertificateValidationEventArgs e, X509Certificate2Collection authorities)
    {
        if ((e.SslPolicyErrors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None || e.Certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (e.Chain is not null)
        {
            foreach (X509ChainElement element in e.Chain.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var certificate = new X509Certificate2(e.Certificate);
        return chain.Build(certificate);
    }

    private static MqttConnectionRefusedException Refused(MqttClientConnectResultCode code, Exception? inner)
    {
        (MqttConnectRefusal refusal, string text) = code switch
        {
            MqttClientConnectResultCode.UnsupportedProtocolVersion => (MqttConnectRefusal.UnacceptableProtocolVersion, "unacceptable protocol version"),
            MqttClientConnectResultCode.ClientIdentifierNotValid => (MqttConnectRefusal.IdentifierRejected, "identifier rejected"),
            MqttClientConnectResultCode.ServerUnavailable => (MqttConnectRefusal.ServerUnavailable, "broker unavailable"),
            MqttClientConnectResultCode.BadUserNameOrPassword => (MqttConnectRefusal.BadUserNameOrPassword, "bad user name or password"),
            MqttClientConnectResultCode.NotAuthorized => (MqttConnectRefusal.NotAuthorized, "not authorised"),
            _ => (MqttConnectRefusal.Other, code.ToString()),
        };
        return new MqttConnectionRefusedException(refusal, "connection refused: " + text, inner);
    }

    private MqttTransportException Translate(Exception ex, string operation) => ex switch
    {
        MqttClientNotConnectedException => new MqttNotConnectedException($"{operation}: not connected", ex),
        _ when IsTimeout(ex) => new MqttTimeoutException($"{operation}: the broker did not answer in time", ex),
        InvalidOperationException when !_client.IsConnected => new MqttNotConnectedException($"{operation}: not connected ({ex.Message})", ex),
        _ => new MqttTransportException($"{operation} failed: {Describe(ex)}", ex),
    };

    private static bool IsTimeout(Exception ex)
    {
        for (Exception? inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is MqttCommunicationTimedOutException or OperationCanceledException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The innermost message says what actually happened (e.g. "Connection refused").</summary>
    private static string Describe(Exception ex)
    {
        Exception inner = ex;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return inner.Message;
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        Func<MqttMessage, Task>? handler = MessageReceived;
        if (handler is null)
        {
            return;
        }

        MqttApplicationMessage message = e.ApplicationMessage;
        var qos = message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce ? MqttQos.AtMostOnce : MqttQos.AtLeastOnce;
        await handler(new MqttMessage(message.Topic, message.Payload.ToArray(), qos, message.Retain)).ConfigureAwait(false);
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (e.ClientWasConnected && !_disconnecting)
        {
            string cause = e.Exception is not null ? Describe(e.Exception) : e.ReasonString ?? e.Reason.ToString();
            ConnectionLost?.Invoke(this, cause);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Creates <see cref="MqttNetTransport"/>s.</summary>
public sealed class MqttNetTransportFactory : IMqttTransportFactory
{
    public IMqttTransport Create(MqttClientOptions options) => new MqttNetTransport(options);
}

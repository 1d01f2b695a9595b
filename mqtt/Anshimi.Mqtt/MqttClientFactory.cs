namespace Anshimi.Mqtt;

/// <summary>Creates clients; hosts take this so tests can hand in a fake transport.</summary>
public interface IMqttClientFactory
{
    IMqttClient Create(MqttClientOptions options);
}

/// <summary>Creates <see cref="MosquittoClient"/>s that report libmosquitto warnings to <paramref name="diagnostics"/>.</summary>
public sealed class MosquittoClientFactory(Action<string>? diagnostics = null) : IMqttClientFactory
{
    public IMqttClient Create(MqttClientOptions options) => MosquittoClient.Create(options, diagnostics);
}

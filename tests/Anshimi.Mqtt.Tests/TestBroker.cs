using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

/// <summary>A broker with the users and ACL these tests need, and command-line peers against it.</summary>
internal static class TestBroker
{
    public const string Device = "device";
    public const string Observer = "observer";
    public const string Restricted = "restricted";
    public const string DevicePassword = "device-secret-1";

    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static Task<MosquittoBroker> StartAsync(bool persistence = true, int? port = null)
    {
        var options = new MosquittoBrokerOptions { Persistence = persistence, Port = port };
        options.Users[Device] = DevicePassword;
        options.Users[Observer] = "observer-secret-2";
        options.Users[Restricted] = "restricted-secret-3";
        foreach (var line in new[]
        {
            $"user {Device}", "topic readwrite #",
            $"user {Observer}", "topic read #",
            $"user {Restricted}", "topic readwrite allowed/#",
        })
        {
            options.AclLines.Add(line);
        }

        return MosquittoBroker.StartAsync(options);
    }

    /// <summary>
    /// A mosquitto_sub peer that prints "topic hexpayload" per message; returns once its SUBACK arrived,
    /// so nothing published afterwards can be missed.
    /// </summary>
    public static async Task<RunningProcess> StartObserverAsync(MosquittoBroker broker, string topicFilter)
    {
        // stdbuf: line-buffered stdout, so each line reaches the test as soon as it is printed.
        var process = ProcessRunner.Start(
            "stdbuf",
            ["-oL", "mosquitto_sub", .. broker.CliArguments(Observer), "-q", "1", "-d", "-t", topicFilter, "-F", "MSG %t %x"]);
        await process.WaitForOutputLineAsync(line => line.StartsWith("Subscribed (mid", StringComparison.Ordinal), Wait);
        return process;
    }

    public static Task<string> WaitForMessageAsync(this RunningProcess observer, string topic, TimeSpan timeout) =>
        observer.WaitForOutputLineAsync(line => line.StartsWith($"MSG {topic} ", StringComparison.Ordinal), timeout);

    public static async Task PublishWithCliAsync(MosquittoBroker broker, string topic, byte[] payload, bool retain = false)
    {
        string[] arguments = [.. broker.CliArguments(Device), "-q", "1", "-t", topic, "-s", .. retain ? new[] { "-r" } : []];
        (await ProcessRunner.RunAsync("mosquitto_pub", arguments, Wait, standardInput: payload)).EnsureSuccess();
    }

    /// <summary>A subscription handler that records each message.</summary>
    public static MqttSubscriptionHandler Handler(this EventRecorder<MqttMessage> recorder) => (message, _) =>
    {
        recorder.Add(message);
        return Task.CompletedTask;
    };

    public static string Hex(byte[] payload) => Convert.ToHexString(payload).ToLowerInvariant();
}

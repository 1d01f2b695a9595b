using System.Collections.Concurrent;
using Anshimi.Mqtt;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Sites;

/// <summary>One connection attempt against a real broker, and what became of it according to the broker itself.</summary>
public static class TakeoverAttempt
{
    /// <summary>
    /// "connected as {session}" with the name the broker's log gives the session, "refused" when the broker
    /// answered the CONNECT with not-authorised, "no connection" when no MQTT connection came about (e.g. the
    /// TLS handshake failed).
    /// </summary>
    public static async Task<string> RunAsync(MosquittoBroker broker, MqttClientOptions options)
    {
        options.CleanSession = true;
        options.ConnectTimeout = TimeSpan.FromSeconds(3);
        await using MqttSession attempt = MqttSession.Create(options);
        try
        {
            await attempt.ConnectAsync(CancellationToken.None);
        }
        catch (MqttConnectionRefusedException ex) when (ex.Refusal == MqttConnectRefusal.NotAuthorized)
        {
            return "refused";
        }
        catch (MqttConnectTimeoutException)
        {
            return "no connection";
        }

        // Held a moment: a takeover would close the other connection now.
        await Task.Delay(300);
        string log = broker.ReadLog();
        int at = log.LastIndexOf(" connected from ", StringComparison.Ordinal);
        string line = log[at..log.IndexOf('\n', at)];
        return "connected as " + line[(line.IndexOf(" as ", StringComparison.Ordinal) + 4)..line.IndexOf(" (", StringComparison.Ordinal)];
    }

    /// <summary>Every state the session passes through from now on; a session that stays connected records none.</summary>
    public static ConcurrentQueue<MqttConnectionState> Watch(MqttSession session)
    {
        var states = new ConcurrentQueue<MqttConnectionState>();
        session.StateChanged += (_, e) => states.Enqueue(e.State);
        return states;
    }
}

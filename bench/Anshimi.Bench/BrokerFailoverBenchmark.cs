using System.Globalization;
using Anshimi.Testing;

namespace Anshimi.Bench;

/// <summary>
/// The broker failover trial (<see cref="BrokerFailoverTrial"/>) run several times against a three-node cluster of
/// one engine, killing each node in turn; prints each run and the figures the docs record.
/// </summary>
internal sealed class BrokerFailoverBenchmark(string engine, int runs, BrokerFailoverTrialOptions options)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine($"broker failover: {engine}, {runs} runs of {options.Messages} messages at {options.MessagesPerSecond}/s, a node SIGKILLed after {options.KillAfter} and started again {options.DownFor.TotalSeconds} s later; load average {LoadAverage()}");
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using MqttCluster cluster = engine switch
        {
            "rabbitmq" => await RabbitMqCluster.StartAsync(cancellationToken: cancellationToken),
            "nats" => await NatsCluster.StartAsync(cancellationToken),
            _ => throw new ArgumentException($"engine must be rabbitmq or nats, got '{engine}'"),
        };
        Console.WriteLine($"{cluster.Engine}: three nodes serving after {started.Elapsed.TotalSeconds:F1} s");

        List<BrokerFailoverResult> results = [];
        for (int run = 0; run < runs; run++)
        {
            BrokerFailoverResult result = await BrokerFailoverTrial.RunAsync(cluster, run % MqttCluster.NodeCount, options, cancellationToken: cancellationToken);
            results.Add(result);
            Console.WriteLine($"run {run + 1}: {result}");
            Console.WriteLine($"  latency steady  {new Percentiles(result.SteadyLatencies).Describe()}");
            Console.WriteLine($"  latency loss    {new Percentiles(result.LossLatencies).Describe()}");
            Console.WriteLine($"  latency after   {new Percentiles(result.AfterLatencies).Describe()}");
        }

        var steady = new Percentiles(results.SelectMany(r => r.SteadyLatencies));
        var loss = new Percentiles(results.SelectMany(r => r.LossLatencies));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {cluster.Engine} | {runs} | {results.Sum(r => r.Lost)} | {results.Sum(r => r.Duplicated)} | "
            + $"{string.Join(" / ", results.Select(r => r.PublisherReconnect.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)))} | "
            + $"{string.Join(" / ", results.Select(r => r.SubscriberReconnect.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)))} | "
            + $"{steady[50]:F1} / {steady[99]:F1} | {loss[50]:F0} / {loss[99]:F0} / {loss.Max:F0} | {LoadAverage()} |"));
        return results.All(r => r.Lost == 0) ? 0 : 1;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }
}

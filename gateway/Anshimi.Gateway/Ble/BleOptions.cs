using System.Globalization;
using System.Net;
using Anshimi.Ble;
using Anshimi.Ble.Hci;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Ble;

/// <summary>Which radio the gateway uses.</summary>
public enum BleTransportKind
{
    /// <summary>No BLE: light commands expire, BLE-only devices are not heard.</summary>
    None,

    /// <summary>The machine's own adapter through a raw HCI socket (a Raspberry Pi).</summary>
    Hci,

    /// <summary>The cross-process simulated airspace (a UDP hub on loopback), for the demo and tests.</summary>
    Airspace,
}

/// <summary>The gateway's BLE settings, bound from "Gateway:Ble".</summary>
public sealed class BleOptions
{
    public const string SectionName = "Gateway:Ble";

    public BleTransportKind Transport { get; set; } = BleTransportKind.None;

    /// <summary>HCI adapter name (<c>hci0</c>) when <see cref="Transport"/> is Hci.</summary>
    public string Adapter { get; set; } = "hci0";

    public TimeSpan ScanInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ScanWindow { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Interval of the gateway's own (downlink) advertisements.</summary>
    public TimeSpan AdvertisingInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long each downlink advertisement stays on air before the next one takes its turn.</summary>
    public TimeSpan Dwell { get; set; } = TimeSpan.FromMilliseconds(400);

    /// <summary>How long an ack to a BLE-only bell stays in the rotation.</summary>
    public TimeSpan AckAirTime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>UDP endpoint of the simulated airspace hub when <see cref="Transport"/> is Airspace.</summary>
    public string AirspaceEndpoint { get; set; } = "127.0.0.1:18850";

    /// <summary>Start the airspace hub inside the gateway (the demo); otherwise join one that runs elsewhere.</summary>
    public bool HostAirspaceHub { get; set; }

    /// <summary>The gateway's address in the simulated airspace.</summary>
    public string AirspaceAddress { get; set; } = "02:A5:00:00:00:01";

    /// <summary>Heard advertisements waiting for processing; more are dropped and counted as queue_full.</summary>
    public int QueueCapacity { get; set; } = 4096;

    /// <summary>Advertisements claiming one device id that may wait at once; more are dropped and counted as device_budget.</summary>
    public int DeviceBudget { get; set; } = 64;

    public IPEndPoint AirspaceIPEndPoint => IPEndPoint.Parse(AirspaceEndpoint);

    public BleAddress AirspaceBleAddress => BleAddress.TryParse(AirspaceAddress, out BleAddress address) ? address : default;
}

/// <summary>Refuses BLE settings the radio cannot take, naming the configuration key.</summary>
public sealed class BleOptionsValidator : IValidateOptions<BleOptions>
{
    public ValidateOptionsResult Validate(string? name, BleOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Transport))
        {
            failures.Add(Key("Transport") + " must be None, Hci or Airspace");
        }

        if (options.Transport == BleTransportKind.Hci)
        {
            try
            {
                HciBleTransport.ParseAdapter(options.Adapter);
            }
            catch (BleTransportException ex)
            {
                failures.Add(Key("Adapter") + ": " + ex.Message);
            }
        }

        InRange(failures, "ScanInterval", options.ScanInterval, HciCommands.MinScanTime, HciCommands.MaxScanTime);
        InRange(failures, "ScanWindow", options.ScanWindow, HciCommands.MinScanTime, HciCommands.MaxScanTime);
        if (options.ScanWindow > options.ScanInterval)
        {
            failures.Add(Key("ScanWindow") + " must not be longer than " + Key("ScanInterval"));
        }

        InRange(failures, "AdvertisingInterval", options.AdvertisingInterval, HciCommands.MinAdvertisingInterval, HciCommands.MaxAdvertisingInterval);
        if (options.Dwell < 2 * options.AdvertisingInterval)
        {
            failures.Add(Key("Dwell") + " must be at least two advertising intervals (" + Ms(2 * options.AdvertisingInterval) + "), got " + Ms(options.Dwell));
        }

        if (options.AckAirTime <= TimeSpan.Zero)
        {
            failures.Add(Key("AckAirTime") + " must be positive");
        }

        if (options.QueueCapacity <= 0)
        {
            failures.Add(Key("QueueCapacity") + " must be positive");
        }

        if (options.DeviceBudget <= 0 || options.DeviceBudget > options.QueueCapacity)
        {
            failures.Add(Key("DeviceBudget") + " must be positive and not above " + Key("QueueCapacity"));
        }

        if (options.Transport == BleTransportKind.Airspace)
        {
            if (!IPEndPoint.TryParse(options.AirspaceEndpoint ?? "", out IPEndPoint? endPoint) || endPoint.Port == 0)
            {
                failures.Add(Key("AirspaceEndpoint") + " must be an address and port such as 127.0.0.1:18850, got '" + options.AirspaceEndpoint + "'");
            }

            if (!BleAddress.TryParse(options.AirspaceAddress, out _))
            {
                failures.Add(Key("AirspaceAddress") + " must be six hex bytes such as 02:A5:00:00:00:01, got '" + options.AirspaceAddress + "'");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Key(string field) => BleOptions.SectionName + ":" + field;

    private static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms";

    private static void InRange(List<string> failures, string field, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add(Key(field) + " must be between " + Ms(min) + " and " + Ms(max) + ", got " + Ms(value));
        }
    }
}

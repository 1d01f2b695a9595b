using Anshimi.Ble;
using Anshimi.Ble.Hci;
using Anshimi.Ble.Simulation;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Ble;

/// <summary>Opens the gateway's radio; null when BLE is switched off.</summary>
public interface IBleTransportFactory
{
    /// <summary>Throws <see cref="BleTransportException"/> with a clear message when the radio cannot be opened.</summary>
    IBleTransport? Create();
}

/// <summary>The radio named by <see cref="BleOptions.Transport"/>; hosts the airspace hub too when asked.</summary>
public sealed class ConfiguredBleTransportFactory(IOptions<BleOptions> options, TimeProvider time) : IBleTransportFactory, IAsyncDisposable
{
    private AirspaceHub? _hub;

    public IBleTransport? Create()
    {
        BleOptions ble = options.Value;
        switch (ble.Transport)
        {
            case BleTransportKind.Hci:
                return new HciBleTransport(ble.Adapter, time);
            case BleTransportKind.Airspace:
                if (ble.HostAirspaceHub && _hub is null)
                {
                    _hub = AirspaceHub.Start(ble.AirspaceIPEndPoint, time);
                }

                return new UdpAirspaceTransport(ble.AirspaceIPEndPoint, ble.AirspaceBleAddress, time);
            default:
                return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_hub is not null)
        {
            await _hub.DisposeAsync();
        }
    }
}

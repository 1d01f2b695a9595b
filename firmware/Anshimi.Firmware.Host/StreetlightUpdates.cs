using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Ota;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Host;

/// <summary>A streetlight board's loader and update stack as it is built: where its slots live, the keys it trusts, its timings.</summary>
public sealed class StreetlightFirmware
{
    /// <summary>The slot files on the light's flash drive, beside its records.</summary>
    public required IFirmwareFiles Files { get; init; }

    /// <summary>Release public keys compiled into the loader.</summary>
    public required ReleaseKeys Keys { get; init; }

    public UpdateClientSettings Client { get; init; } = new();

    public CarouselReceiverSettings Carousel { get; init; } = new();
}

/// <summary>
/// One boot of a simulated streetlight's loader and update stack (protocol/README.md §11.9): the device's own
/// <see cref="LoaderBoot"/> on the light's flash, then the <see cref="ApplicationUpdates"/> the light's application runs,
/// fed by its <see cref="CarouselReceiver"/> on its radio, with only the start of the slot's image simulated
/// (<see cref="SimulatedApplicationStarter"/>). Nothing switches while the light is in escort or emergency mode. When
/// <see cref="RestartRequested"/> is set the owner resets the board and makes a new one from the same flash.
/// </summary>
public sealed class StreetlightUpdates : IUpdateHold
{
    /// <summary>The streetlight's <c>hardware/</c> board and its profile (protocol/README.md §11.1).</summary>
    public const string Board = "streetlight";

    private readonly Func<bool> _holds;

    public StreetlightUpdates(
        StreetlightConfig config, IBleRadio radio, IClock clock, IDeviceStorage records, IFirmwareFiles files, ReleaseKeys keys, IHmacSha256 mac,
        Func<bool> holds, UpdateClientSettings clientSettings, CarouselReceiverSettings carouselSettings)
    {
        _holds = holds;
        var loader = new LoaderBoot(records, files, keys, Starter);
        Boot = SimulatedLoader.Boot(loader);
        Receiver = new CarouselReceiver(config.LightId, config.Key, radio, clock, records, keys, Boot, mac, carouselSettings);
        Updates = new ApplicationUpdates(
            SilentImageLink.For(Starter, Boot, Receiver), Boot, loader.Loader, keys, files, records, clock, this, Board, Board, clientSettings);
        Receiver.Attach(Updates.Client);
    }

    public SimulatedApplicationStarter Starter { get; } = new();

    public BootResult Boot { get; }

    public CarouselReceiver Receiver { get; }

    /// <summary>The application's update side, as the streetlight's own <c>Program.cs</c> runs it.</summary>
    public ApplicationUpdates Updates { get; }

    public UpdateClient Client => Updates.Client;

    /// <summary>A restart the client asked for, once its last report had a second on air: the gateway hears the light go.</summary>
    public bool RestartRequested => Updates.RestartRequested && Receiver.MayRestart;

    public bool HoldsUpdate => _holds();

    /// <summary>The light's loop calls this after the controller's tick.</summary>
    public void Tick()
    {
        Receiver.Tick();
        Updates.Tick();
    }

    /// <summary>The hold of a running controller: its escort or emergency mode.</summary>
    public static Func<bool> HoldOf(Func<StreetlightController?> controller) =>
        () => controller() is { HoldsUpdate: true };
}

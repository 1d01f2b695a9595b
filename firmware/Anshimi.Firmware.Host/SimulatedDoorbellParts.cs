using Anshimi.Firmware.Doorbell;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The smart doorbell's simulated parts on one clock: ring, emergency and tamper buttons, PIR, chime, camera
/// and LED. <see cref="PowerOn"/> starts the firmware on them; again, it is a reboot on the same parts.
/// </summary>
public sealed class SimulatedDoorbellParts(ISchedulingClock clock, SimulatedCamera camera)
{
    public SimulatedButton Ring { get; } = new(clock);

    public SimulatedButton Emergency { get; } = new(clock);

    public SimulatedPir Pir { get; } = new(clock);

    public SimulatedButton Tamper { get; } = new(clock);

    public SimulatedChime Chime { get; } = new(clock);

    public SimulatedCamera Camera { get; } = camera;

    public SimulatedLed Led { get; } = new(clock);

    public SmartDoorbell PowerOn(DoorbellConfig config, IDeviceStorage storage, IMqttLink link, IHmacSha256 mac, IRandom random) =>
        new(config, clock, Ring, Emergency, Pir, Tamper, Chime, Camera, Led, storage, link, mac, random);
}

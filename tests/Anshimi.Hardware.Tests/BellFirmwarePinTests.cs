using Anshimi.Firmware;
using Anshimi.Firmware.Bells;
using Anshimi.Protocol;

namespace Anshimi.Hardware.Tests;

/// <summary>The panic-bell firmware's pin configuration (<see cref="BellBoard"/>) against hardware/&lt;device&gt;/pins.json, both ways.</summary>
public sealed class BellFirmwarePinTests
{
    // Signals the application never touches: flashing, debugging and boot straps.
    private static readonly string[] NotForTheApplication = ["BOOT", "DEBUG_TX", "DEBUG_RX", "USB_DM", "USB_DP"];

    public static TheoryData<string> Boards()
    {
        var data = new TheoryData<string>();
        foreach (BellBoard board in BellBoard.All)
        {
            data.Add(board.Device);
        }

        return data;
    }

    private static BellBoard Board(string device) => BellBoard.All.Single(b => b.Device == device);

    /// <summary>What the firmware expects: signal name → (gpio, active-low, wakes).</summary>
    private static Dictionary<string, (int Gpio, bool? ActiveLow, bool Wakes)> Expected(BellBoard b)
    {
        var expected = new Dictionary<string, (int, bool?, bool)>();
        void Add(string name, int gpio, bool? activeLow = null, bool wakes = false)
        {
            if (gpio != BellBoard.None)
            {
                expected[name] = (gpio, activeLow, wakes);
            }
        }

        Add("PANIC_BUTTON", b.PanicButton, b.PanicActiveLow, b.PanicWakes);
        Add("AUX_PANIC", b.AuxPanic, b.AuxActiveLow);
        Add("TAMPER", b.Tamper, b.TamperActiveLow, b.TamperWakes);
        Add("MAINS_SENSE", b.MainsSense);
        Add("BATT_SENSE", b.BatterySense);
        Add("LED_RED", b.LedRed, false);
        Add("LED_GREEN", b.LedGreen, false);
        Add("LED_BLUE", b.LedBlue, false);
        Add("VOICE_TX", b.VoiceTx);
        Add("VOICE_RX", b.VoiceRx);
        return expected;
    }

    [Theory]
    [MemberData(nameof(Boards))]
    public void Every_pin_the_firmware_uses_is_the_pin_maps(string device)
    {
        BellBoard board = Board(device);
        PinMap map = PinMap.Load(RepoFiles.DevicePath(device, "pins.json"));
        Assert.Empty(map.SchemaViolations);
        foreach ((string name, (int gpio, bool? activeLow, bool wakes)) in Expected(board))
        {
            Signal? signal = map.Signals.SingleOrDefault(s => s.Name == name);
            Assert.True(signal is not null, device + ": the firmware uses " + name + " but pins.json has no such signal");
            Assert.True(gpio == signal.Gpio, device + ": " + name + " is GPIO " + signal.Gpio + " in pins.json, " + gpio + " in the firmware");
            if (activeLow is bool low)
            {
                Assert.True((signal.Active == "low") == low, device + ": " + name + " is active " + signal.Active + " in pins.json");
            }

            Assert.True(wakes == (signal.Wake is not null), device + ": " + name + " wake flag differs from pins.json");
        }

        if (board.BatterySense != BellBoard.None)
        {
            Assert.Equal(board.BatteryAdcChannel, map.Signals.Single(s => s.Name == "BATT_SENSE").AdcChannel);
        }

        if (board.VoiceRx != BellBoard.None)
        {
            Assert.All(map.Signals.Where(s => s.Name.StartsWith("VOICE_", StringComparison.Ordinal)), s => Assert.Equal(board.VoicePort, s.Bus));
        }

        Assert.Equal(board.HasWifi, map.Radios.Contains("wifi"));
        Assert.Contains("ble", map.Radios);
    }

    [Theory]
    [MemberData(nameof(Boards))]
    public void Every_wired_signal_is_used_by_the_firmware(string device)
    {
        PinMap map = PinMap.Load(RepoFiles.DevicePath(device, "pins.json"));
        Dictionary<string, (int, bool?, bool)> expected = Expected(Board(device));
        foreach (Signal signal in map.Signals.Where(s => !NotForTheApplication.Contains(s.Name)))
        {
            Assert.True(expected.ContainsKey(signal.Name), device + ": pins.json wires " + signal.Name + " but the firmware configuration does not use it");
        }
    }

    [Theory]
    [InlineData(BellProfiles.Home)]
    [InlineData(BellProfiles.Shop)]
    [InlineData(BellProfiles.Voice)]
    [InlineData(BellProfiles.Battery)]
    public void Each_profile_only_asks_for_what_its_board_has(string profile)
    {
        BellConfig config = BellProfiles.For(profile, 1, new byte[32]);
        BellBoard board = BellBoard.ForProfile(profile);
        Assert.Equal(profile, config.Profile);
        Assert.True(config.VoiceKeywords.Length == 0 || board.VoiceRx != BellBoard.None, profile + ": keywords without a voice module");
        Assert.True(!config.DeepSleep || board.PanicWakes, profile + ": sleeps but the button cannot wake it");
        Assert.True(config.AuxEventCode == ContactIdCode.Panic || board.AuxPanic != BellBoard.None, profile + ": aux event without an aux input");

        // A bell without mains reports RF low battery (384); a mains-backed one 302.
        Assert.Equal(board.HasWifi ? ContactIdCode.LowBattery : ContactIdCode.RfLowBattery, config.LowBatteryCode);
        Assert.Equal(board.HasWifi, !config.DeepSleep);
    }
}

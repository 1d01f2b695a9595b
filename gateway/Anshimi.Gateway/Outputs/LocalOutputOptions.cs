using System.ComponentModel.DataAnnotations;
using Anshimi.Protocol;

namespace Anshimi.Gateway.Outputs;

/// <summary>
/// The gateway box's own siren, strobe and status LED, bound from "Gateway:Outputs". Off unless a driver is chosen.
/// </summary>
public sealed class LocalOutputOptions : IValidatableObject
{
    public const string SectionName = "Gateway:Outputs";
    public const string NoDriver = "none";
    public const string LibgpiodDriver = "libgpiod";
    public const string SimulatedDriver = "simulated";

    /// <summary><c>none</c>, <c>libgpiod</c> (a Raspberry Pi) or <c>simulated</c> (tests, the demo).</summary>
    public string Driver { get; set; } = NoDriver;

    /// <summary>GPIO chip number: <c>0</c> is <c>/dev/gpiochip0</c>, the 40-pin header's lines on a Raspberry Pi 4.</summary>
    public int Chip { get; set; }

    /// <summary>
    /// Line offsets (BCM GPIO numbers on the Pi); -1 when the box has no such output. The defaults are the gateway
    /// box of <c>hardware/gateway/pins.json</c>: relay board channels 1 and 2, and the panel LED.
    /// </summary>
    public int SirenLine { get; set; } = 26;

    public int StrobeLine { get; set; } = 20;

    public int StatusLedLine { get; set; } = 22;

    /// <summary>The box's relay board switches on a low level.</summary>
    public bool RelaysActiveLow { get; set; } = true;

    /// <summary>Contact ID events that sound the siren while unacknowledged.</summary>
    public List<int> SirenEvents { get; set; } = [ContactIdCode.Panic];

    /// <summary>Contact ID events that light the strobe while unacknowledged.</summary>
    public List<int> StrobeEvents { get; set; } = [ContactIdCode.Panic, ContactIdCode.Loitering];

    /// <summary>The siren stops after this long even if nobody acknowledged (noise rules); the strobe stays on.</summary>
    public TimeSpan SirenMaxDuration { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Alarms older than this no longer drive the outputs.</summary>
    public TimeSpan OpenAlarmWindow { get; set; } = TimeSpan.FromHours(12);

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Driver is not (NoDriver or LibgpiodDriver or SimulatedDriver))
        {
            yield return Fail($"Driver must be '{NoDriver}', '{LibgpiodDriver}' or '{SimulatedDriver}', got '{Driver}'", nameof(Driver));
        }

        if (Chip < 0)
        {
            yield return Fail($"Chip must be a GPIO chip number such as 0 (/dev/gpiochip0), got {Chip}", nameof(Chip));
        }

        var used = new Dictionary<int, string>();
        foreach ((string name, int line) in new[] { (nameof(SirenLine), SirenLine), (nameof(StrobeLine), StrobeLine), (nameof(StatusLedLine), StatusLedLine) })
        {
            if (line < -1)
            {
                yield return Fail($"{name} must be a line offset or -1 for none, got {line}", name);
            }
            else if (line >= 0 && !used.TryAdd(line, name))
            {
                yield return Fail($"{name} uses line {line}, already used by {used[line]}", name);
            }
        }

        foreach ((string name, List<int> events) in new[] { (nameof(SirenEvents), SirenEvents), (nameof(StrobeEvents), StrobeEvents) })
        {
            foreach (int code in events)
            {
                if (code is < 1 or > ContactIdCode.Max)
                {
                    yield return Fail($"{name} holds {code}, not a Contact ID event code (1–999)", name);
                }
                else if (code is ContactIdCode.Duress or ContactIdCode.SilentPanic)
                {
                    // Announcing these would endanger the person who raised them.
                    yield return Fail($"{name} holds {code}: duress and silent panic must never sound or flash locally", name);
                }
            }
        }

        if (SirenMaxDuration <= TimeSpan.Zero || OpenAlarmWindow <= TimeSpan.Zero || PollInterval <= TimeSpan.Zero)
        {
            yield return Fail("SirenMaxDuration, OpenAlarmWindow and PollInterval must be positive", nameof(PollInterval));
        }
    }

    private static ValidationResult Fail(string message, string member) => new($"{SectionName}:{member}: {message}", [member]);
}

using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Supervision;

/// <summary>
/// How long each device profile may stay silent, bound from "Gateway:Supervision": one entry per
/// profile (<c>Gateway:Supervision:home = 00:01:00</c>), <c>Default</c> for profiles not listed and
/// <c>CheckInterval</c> for how often deadlines are checked.
/// </summary>
public sealed class SupervisionOptions
{
    public const string SectionName = "Gateway:Supervision";
    public const string DefaultKey = "Default";
    public const string CheckIntervalKey = "CheckInterval";

    public TimeSpan Default { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Granularity of detection: a silent device is reported at most this long after its deadline.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    public Dictionary<string, TimeSpan> Profiles { get; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["home"] = TimeSpan.FromMinutes(1),
        ["shop"] = TimeSpan.FromMinutes(1),
        ["voice"] = TimeSpan.FromMinutes(1),
        // Battery devices sleep between reports to last years on one cell.
        ["battery"] = TimeSpan.FromHours(2),
    };

    /// <summary>Configuration keys whose text is not a time span, with that text, for the validator to name.</summary>
    public Dictionary<string, string> Unreadable { get; } = new(StringComparer.OrdinalIgnoreCase);

    public TimeSpan IntervalOf(string profile) => Profiles.TryGetValue(profile, out TimeSpan interval) ? interval : Default;

    /// <summary>Reads the section by hand: profile names are open-ended, so they cannot be properties.</summary>
    internal void Bind(IConfigurationSection section)
    {
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (child.Value is null)
            {
                Unreadable[child.Key] = "(a section)";
                continue;
            }

            if (!TimeSpan.TryParse(child.Value, CultureInfo.InvariantCulture, out TimeSpan value))
            {
                Unreadable[child.Key] = child.Value;
                continue;
            }

            if (string.Equals(child.Key, DefaultKey, StringComparison.OrdinalIgnoreCase))
            {
                Default = value;
            }
            else if (string.Equals(child.Key, CheckIntervalKey, StringComparison.OrdinalIgnoreCase))
            {
                CheckInterval = value;
            }
            else
            {
                Profiles[child.Key] = value;
            }
        }
    }
}

/// <summary>Refuses unreadable or non-positive intervals, naming the configuration key.</summary>
public sealed class SupervisionOptionsValidator : IValidateOptions<SupervisionOptions>
{
    public ValidateOptionsResult Validate(string? name, SupervisionOptions options)
    {
        var failures = new List<string>();
        foreach (KeyValuePair<string, string> bad in options.Unreadable.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            failures.Add($"{SupervisionOptions.SectionName}:{bad.Key} must be a time span like 00:01:00, got '{bad.Value}'");
        }

        RequirePositive(failures, SupervisionOptions.DefaultKey, options.Default);
        RequirePositive(failures, SupervisionOptions.CheckIntervalKey, options.CheckInterval);
        foreach (KeyValuePair<string, TimeSpan> profile in options.Profiles.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            RequirePositive(failures, profile.Key, profile.Value);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void RequirePositive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{SupervisionOptions.SectionName}:{key} must be positive, got {value.ToString("c", CultureInfo.InvariantCulture)}");
        }
    }
}

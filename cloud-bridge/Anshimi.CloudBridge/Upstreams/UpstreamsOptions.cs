using System.Globalization;
using System.Text.RegularExpressions;
using Anshimi.AlarmReceivers.Dc09;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Upstreams;

/// <summary>
/// Where alarms go beyond the console: alarm receivers (SIA DC-09), signed webhooks and an Azure IoT
/// Hub; bound from configuration section "Upstreams". Every list may be empty. Secrets (AES keys,
/// webhook secrets, IoT Hub keys) belong in environment variables or a secret store, not in appsettings.json.
/// </summary>
public sealed class UpstreamsOptions
{
    public const string SectionName = "Upstreams";

    /// <summary>First wait after a transient failure of an upstream; doubles per consecutive failure.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Cap of the doubling wait (a Retry-After of a webhook receiver is honoured up to this).</summary>
    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often an idle upstream looks for work it was not woken for (e.g. after a failed wake-up).</summary>
    public TimeSpan IdlePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    public List<Dc09UpstreamOptions> Dc09 { get; set; } = [];

    public List<WebhookUpstreamOptions> Webhooks { get; set; } = [];

    public List<IotHubUpstreamOptions> IotHub { get; set; } = [];
}

/// <summary>Where one DC-09 receiver listens and how it knows this link.</summary>
public class Dc09ReceiverOptions
{
    public string Host { get; set; } = "";

    public int Port { get; set; }

    /// <summary>'R' field, 1–6 upper-case hex digits, or empty to leave it out.</summary>
    public string? ReceiverNumber { get; set; }

    /// <summary>'L' field, 1–6 upper-case hex digits.</summary>
    public string LinePrefix { get; set; } = "0";

    /// <summary>
    /// The AES key's bytes written as hex: 32, 48 or 64 hex digits (AES-128/192/256); empty sends in the clear. A
    /// receiver that takes its key as text (16, 24 or 32 characters) uses those characters' ASCII bytes, so its key
    /// <c>0123456789ABCDEF</c> is written here as <c>30313233343536373839414243444546</c>.
    /// </summary>
    public string? KeyHex { get; set; }
}

/// <summary>
/// One alarm-receiving centre spoken to in SIA DC-09 (ADM-CID): its first receiver (<see cref="Dc09ReceiverOptions.Host"/>
/// and the fields beside it) and, in order, the receivers that take an alarm the ones before could not. The accounts
/// are the centre's and hold for every receiver.
/// </summary>
public sealed class Dc09UpstreamOptions : Dc09ReceiverOptions
{
    /// <summary>Unique name of this upstream (lower-case letters, digits, '-'); deliveries are kept under it.</summary>
    public string Name { get; set; } = "";

    /// <summary>Receivers tried in this order after the first, for an alarm the first did not take (down, DUH, unreadable answer).</summary>
    public List<Dc09ReceiverOptions> Fallbacks { get; set; } = [];

    /// <summary>The first receiver, then the fallbacks.</summary>
    public IReadOnlyList<Dc09ReceiverOptions> Receivers => [this, .. Fallbacks];

    /// <summary>Account (3–16 upper-case hex digits) for alarms whose device and district have none of their own.</summary>
    public string? DefaultAccount { get; set; }

    /// <summary>District code (e.g. "11680" 강남구) to account: one account per district control center.</summary>
    public Dictionary<string, string> AccountsByDistrict { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Device id (hex, any case) to account: a site the receiver knows under its own account (e.g. a shop).</summary>
    public Dictionary<string, string> AccountsByDevice { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Contact ID group/partition 0–99 sent with every event.</summary>
    public int Partition { get; set; } = 1;

    /// <summary>NULL supervision message after this long without traffic; empty for none.</summary>
    public TimeSpan? SupervisionInterval { get; set; }

    /// <summary>Account named by NULL messages; defaults to <see cref="DefaultAccount"/>.</summary>
    public string? SupervisionAccount { get; set; }

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Transmissions per delivery attempt (a NAK is answered at once with a corrected clock); then the outbox backs off.</summary>
    public int AttemptsPerDelivery { get; set; } = 3;

    /// <summary>
    /// How long a receiver whose last attempt failed transiently (down, silent, NAKing) is tried after the other
    /// receivers of the list, so alarms do not wait out its timeouts first; after that it is back in its place.
    /// </summary>
    public TimeSpan FailedReceiverLastFor { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Add the event's own time as extended data [H…]; check with the receiver first.</summary>
    public bool IncludeTimeOfOccurrence { get; set; }
}

/// <summary>An HTTPS endpoint that gets each alarm as signed JSON.</summary>
public sealed class WebhookUpstreamOptions
{
    public string Name { get; set; } = "";

    public string Url { get; set; } = "";

    /// <summary>HMAC-SHA256 secret (at least 16 characters), shared with the receiver.</summary>
    public string Secret { get; set; } = "";

    /// <summary>How long one POST may take before it counts as a timeout (retried).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>An Azure IoT Hub device identity, spoken to over IoT Hub's MQTT device protocol.</summary>
public sealed class IotHubUpstreamOptions
{
    public string Name { get; set; } = "";

    /// <summary>The hub's host name, e.g. "anshimi.azure-devices.net".</summary>
    public string HostName { get; set; } = "";

    /// <summary>Where to connect; defaults to <see cref="HostName"/> (set for a test broker or a gateway in front).</summary>
    public string? ConnectHost { get; set; }

    public int Port { get; set; } = 8883;

    public string DeviceId { get; set; } = "";

    /// <summary>The device's symmetric key (base64), from which SAS tokens are signed.</summary>
    public string SharedAccessKey { get; set; } = "";

    /// <summary>CA bundle for TLS; IoT Hub's roots are in the system bundle.</summary>
    public string TlsCaFile { get; set; } = "/etc/ssl/certs/ca-certificates.crt";

    /// <summary>Lifetime of each SAS token.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Reconnect with a fresh token this long before the current one expires.</summary>
    public TimeSpan TokenRenewBefore { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a publish may wait for the hub's PUBACK.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Checks every upstream at start; each failure names the configuration key at fault.</summary>
public sealed partial class UpstreamsOptionsValidator : IValidateOptions<UpstreamsOptions>
{
    public ValidateOptionsResult Validate(string? name, UpstreamsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string root = UpstreamsOptions.SectionName;
        if (options.RetryInterval <= TimeSpan.Zero || options.RetryMaxInterval < options.RetryInterval)
        {
            failures.Add($"{root}:RetryInterval must be positive and not above {root}:RetryMaxInterval.");
        }

        if (options.IdlePollInterval <= TimeSpan.Zero)
        {
            failures.Add($"{root}:IdlePollInterval must be positive.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        void CheckName(string path, string value)
        {
            if (!NamePattern().IsMatch(value ?? ""))
            {
                failures.Add($"{path}:Name must be 1–40 lower-case letters, digits or '-'.");
            }
            else if (!names.Add(value!))
            {
                failures.Add($"{path}:Name '{value}' is used by another upstream.");
            }
        }

        for (int i = 0; i < options.Dc09.Count; i++)
        {
            string path = Path(root, "Dc09", i);
            Dc09UpstreamOptions o = options.Dc09[i];
            CheckName(path, o.Name);
            CheckReceiver(failures, path, o);
            for (int f = 0; f < o.Fallbacks.Count; f++)
            {
                CheckReceiver(failures, string.Create(CultureInfo.InvariantCulture, $"{path}:Fallbacks:{f}"), o.Fallbacks[f]);
            }

            CheckAccount(failures, $"{path}:DefaultAccount", o.DefaultAccount, optional: true);
            CheckAccount(failures, $"{path}:SupervisionAccount", o.SupervisionAccount, optional: true);
            foreach ((string district, string account) in o.AccountsByDistrict)
            {
                CheckAccount(failures, $"{path}:AccountsByDistrict:{district}", account, optional: false);
            }

            foreach ((string device, string account) in o.AccountsByDevice)
            {
                CheckAccount(failures, $"{path}:AccountsByDevice:{device}", account, optional: false);
            }

            if (o.DefaultAccount is null && o.AccountsByDistrict.Count == 0 && o.AccountsByDevice.Count == 0)
            {
                failures.Add($"{path}:DefaultAccount, AccountsByDistrict or AccountsByDevice must name at least one account.");
            }

            if (o.Partition is < 0 or > 99)
            {
                failures.Add($"{path}:Partition must be 0–99.");
            }

            if (o.SupervisionInterval is { } interval && interval <= TimeSpan.Zero)
            {
                failures.Add($"{path}:SupervisionInterval must be positive or empty.");
            }

            if (o.SupervisionInterval is not null && (o.SupervisionAccount ?? o.DefaultAccount) is null)
            {
                failures.Add($"{path}:SupervisionAccount (or DefaultAccount) is needed for NULL supervision.");
            }

            CheckPositive(failures, $"{path}:ConnectTimeout", o.ConnectTimeout);
            CheckPositive(failures, $"{path}:AckTimeout", o.AckTimeout);
            if (o.AttemptsPerDelivery is < 1 or > 10)
            {
                failures.Add($"{path}:AttemptsPerDelivery must be 1–10.");
            }

            if (o.FailedReceiverLastFor < TimeSpan.Zero)
            {
                failures.Add($"{path}:FailedReceiverLastFor must not be negative.");
            }
        }

        for (int i = 0; i < options.Webhooks.Count; i++)
        {
            string path = Path(root, "Webhooks", i);
            WebhookUpstreamOptions o = options.Webhooks[i];
            CheckName(path, o.Name);
            if (!Uri.TryCreate(o.Url, UriKind.Absolute, out Uri? url) || url.Scheme is not ("https" or "http"))
            {
                failures.Add($"{path}:Url must be an absolute http(s) URL.");
            }

            if ((o.Secret ?? "").Length < 16)
            {
                failures.Add($"{path}:Secret must be at least 16 characters.");
            }

            CheckPositive(failures, $"{path}:Timeout", o.Timeout);
        }

        for (int i = 0; i < options.IotHub.Count; i++)
        {
            string path = Path(root, "IotHub", i);
            IotHubUpstreamOptions o = options.IotHub[i];
            CheckName(path, o.Name);
            if (Uri.CheckHostName(o.HostName) == UriHostNameType.Unknown)
            {
                failures.Add($"{path}:HostName must be the hub's host name.");
            }

            CheckEndpoint(failures, path, o.ConnectHost ?? o.HostName, o.Port);
            if (string.IsNullOrWhiteSpace(o.DeviceId) || o.DeviceId.Length > 128 || o.DeviceId.Any(c => c is '/' or '+' or '#' or '?' or '&' or '=' || char.IsWhiteSpace(c)))
            {
                failures.Add($"{path}:DeviceId must be 1–128 characters without '/', '+', '#', '?', '&', '=' or spaces.");
            }

            if (!IsBase64Key(o.SharedAccessKey))
            {
                failures.Add($"{path}:SharedAccessKey must be the device's base64 key.");
            }

            if (string.IsNullOrWhiteSpace(o.TlsCaFile) || !File.Exists(o.TlsCaFile))
            {
                failures.Add($"{path}:TlsCaFile must name an existing CA file (TLS is not optional).");
            }

            CheckPositive(failures, $"{path}:TokenLifetime", o.TokenLifetime);
            if (o.TokenRenewBefore <= TimeSpan.Zero || o.TokenRenewBefore >= o.TokenLifetime)
            {
                failures.Add($"{path}:TokenRenewBefore must be positive and shorter than TokenLifetime.");
            }

            CheckPositive(failures, $"{path}:ConnectTimeout", o.ConnectTimeout);
            CheckPositive(failures, $"{path}:PublishTimeout", o.PublishTimeout);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Path(string root, string list, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{root}:{list}:{index}");

    private static void CheckEndpoint(List<string> failures, string path, string host, int port)
    {
        if (string.IsNullOrWhiteSpace(host) || Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            failures.Add($"{path}:Host must be a host name or address.");
        }

        if (port is < 1 or > 65535)
        {
            failures.Add($"{path}:Port must be 1–65535.");
        }
    }

    private static void CheckReceiver(List<string> failures, string path, Dc09ReceiverOptions o)
    {
        if (o is null)
        {
            failures.Add($"{path} must name a receiver.");
            return;
        }

        CheckEndpoint(failures, path, o.Host, o.Port);
        if (!string.IsNullOrEmpty(o.ReceiverNumber) && !Dc09SenderOptions.IsHexField(o.ReceiverNumber))
        {
            failures.Add($"{path}:ReceiverNumber must be 1–6 upper-case hex digits (0-9, A-F), or empty to leave it out.");
        }

        if (!Dc09SenderOptions.IsHexField(o.LinePrefix))
        {
            failures.Add($"{path}:LinePrefix must be 1–6 upper-case hex digits (0-9, A-F).");
        }

        if (string.IsNullOrEmpty(o.KeyHex))
        {
            return;
        }

        if (!o.KeyHex.All(char.IsAsciiHexDigit))
        {
            failures.Add($"{path}:KeyHex must be the AES key's bytes as 32, 48 or 64 hex digits, not text; a key a receiver takes as text is written as its ASCII bytes in hex.");
        }
        else if (o.KeyHex.Length is 16 or 24)
        {
            failures.Add($"{path}:KeyHex has {o.KeyHex.Length} hex digits: that is a key written as text. Write its ASCII bytes as hex (32 or 48 digits), e.g. 0123456789ABCDEF as 30313233343536373839414243444546.");
        }
        else if (o.KeyHex.Length is not (32 or 48 or 64))
        {
            failures.Add($"{path}:KeyHex must be 32, 48 or 64 hex digits (AES-128/192/256); it has {o.KeyHex.Length}.");
        }
    }

    private static void CheckAccount(List<string> failures, string path, string? account, bool optional)
    {
        if ((account is null && !optional) || (account is not null && !Dc09SenderOptions.IsAccount(account)))
        {
            failures.Add($"{path} must be a DC-09 account of 3–16 upper-case hex digits (0-9, A-F); receivers refuse any other.");
        }
    }

    private static void CheckPositive(List<string> failures, string path, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{path} must be positive.");
        }
    }

    private static bool IsBase64Key(string? key)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[key.Length];
        return Convert.TryFromBase64String(key, buffer, out int written) && written >= 16;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,39}$")]
    private static partial Regex NamePattern();
}

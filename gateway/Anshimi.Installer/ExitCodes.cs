namespace Anshimi.Installer;

/// <summary>The installer's exit statuses (documented in gateway/README.md).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Bad input: a malformed argument, an invalid site, a CSV with bad rows.</summary>
    public const int BadInput = 1;

    /// <summary>The gateway refused: wrong claim code, unknown device, a state that does not allow it.</summary>
    public const int Refused = 2;

    /// <summary>The gateway cannot be reached, or the admin token is missing or wrong.</summary>
    public const int Unreachable = 3;

    /// <summary>Waited in vain: no device heard, no walk-test alarm, a claimed device not yet connected.</summary>
    public const int TimedOut = 4;

    /// <summary>The broker's dynamic security did not accept the change.</summary>
    public const int BrokerRefused = 5;

    public const int Cancelled = 130;
}

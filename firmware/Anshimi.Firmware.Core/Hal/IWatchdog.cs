namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// A watchdog that resets the device unless it is fed within its timeout. Only the control loop feeds it, and
    /// only after a tick that ran to the end, so a stuck or failing loop ends in a reset.
    /// </summary>
    public interface IWatchdog
    {
        void Feed();
    }
}

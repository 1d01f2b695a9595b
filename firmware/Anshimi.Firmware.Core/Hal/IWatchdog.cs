namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// Restarts the device when the loop stops feeding it within the timeout it was started with (set by
    /// the adapter from the configuration). Recovery after the restart is the flash records' job.
    /// </summary>
    public interface IWatchdog
    {
        void Feed();
    }
}

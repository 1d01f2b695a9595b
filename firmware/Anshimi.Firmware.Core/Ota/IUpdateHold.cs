namespace Anshimi.Firmware.Ota
{
    /// <summary>
    /// What keeps a device from taking or activating an update (protocol/README.md §11.3): an alarm or trouble not yet
    /// acked at stage 1, or a light's escort or emergency hold.
    /// </summary>
    public interface IUpdateHold
    {
        bool HoldsUpdate { get; }
    }
}

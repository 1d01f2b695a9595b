namespace Anshimi.Firmware.Hal
{
    /// <summary>The panic button as read from its pin: raw, not debounced.</summary>
    public interface IButtonInput
    {
        bool IsPressed { get; }
    }
}

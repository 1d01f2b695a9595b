namespace Anshimi.Firmware.Hal
{
    /// <summary>One change of the button pin: its new level and when it happened on <see cref="IClock.MonotonicMs"/>.</summary>
    public delegate void ButtonChangedHandler(bool pressed, long atMonotonicMs);

    /// <summary>
    /// The panic button pin as its interrupt reports it: raw edges, not debounced, each stamped when it
    /// happened. The bell judges presses by these stamps, so a press is seen correctly however late
    /// the device loop gets to it.
    /// </summary>
    public interface IButtonInput
    {
        /// <summary>The pin's level now. Read once at start, so a press already under way is not missed.</summary>
        bool IsPressed { get; }

        /// <summary>
        /// Raised on the input's own thread (the GPIO interrupt's on the device) for every change of
        /// level, in the order they happened; handlers only queue it.
        /// </summary>
        event ButtonChangedHandler ButtonChanged;
    }
}

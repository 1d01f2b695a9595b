namespace Anshimi.Firmware.Hal
{
    /// <summary>One output pin, at its active level (<c>true</c>) or not. Polarity is the adapter's business.</summary>
    public interface IDigitalOutput
    {
        void Write(bool active);
    }
}

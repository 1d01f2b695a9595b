namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// A still camera that compresses in the module (the doorbell's SPI camera does JPEG in the sensor).
    /// Called on the device loop's thread; a capture takes a few hundred milliseconds on the device.
    /// </summary>
    public interface ICamera
    {
        /// <summary>One JPEG image, or null when the camera did not answer (cable cut, module fault).</summary>
        byte[]? Capture();
    }
}

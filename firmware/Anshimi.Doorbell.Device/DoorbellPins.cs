namespace Anshimi.Doorbell.Device
{
    /// <summary>
    /// GPIO numbers of the doorbell's ESP32-S3 board. The same data as hardware/doorbell/pins.json, name for
    /// name (RING_BUTTON is RingButton); tests/Anshimi.Hardware.Tests checks every constant against it.
    /// </summary>
    public static class DoorbellPins
    {
        public const int RingButton = 4;
        public const int RingLed = 5;
        public const int PirOut = 6;
        public const int OutdoorTamper = 7;
        public const int CamSda = 8;
        public const int CamScl = 9;
        public const int CamCs = 10;
        public const int CamMosi = 11;
        public const int CamSck = 12;
        public const int CamMiso = 13;
        public const int ChimePwm = 14;
        public const int AmpEnable = 15;
        public const int EmergencyButton = 16;
        public const int LedRed = 17;
        public const int LedGreen = 18;
        public const int LedBlue = 21;

        /// <summary>CHIME_PWM frequency_hz in pins.json: above hearing, smoothed by the RC low-pass into the amplifier.</summary>
        public const int ChimePwmFrequencyHz = 8000;

        /// <summary>SPI1 and I2C1 as pins.json names the camera buses.</summary>
        public const int CameraSpiBus = 1;
        public const int CameraI2cBus = 1;
    }
}

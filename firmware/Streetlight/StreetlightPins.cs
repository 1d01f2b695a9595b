namespace Anshimi.Streetlight
{
    /// <summary>
    /// GPIOs and ADC channels of the streetlight board, from hardware/streetlight/pins.json (a host test checks every
    /// constant here against that file, so the firmware never carries a pin that was not checked).
    /// </summary>
    public static class StreetlightPins
    {
        public const int DIM_PWM = 6;
        public const int DIM_PWM_FREQUENCY_HZ = 1000;
        public const int LAMP_CUTOFF = 7;
        public const int WDT_FEED = 3;
        public const int AMBIENT_LIGHT = 0;
        public const int AMBIENT_LIGHT_ADC_CHANNEL = 0;
        public const int LAMP_CURRENT = 1;
        public const int LAMP_CURRENT_ADC_CHANNEL = 1;
        public const int STATUS_LED = 10;
        public const int SERVICE_BUTTON = 9;
    }
}

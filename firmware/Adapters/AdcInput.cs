using System.Device.Adc;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// An ADC channel (a battery divider, an ambient light sensor) as a fraction of the controller's full scale,
    /// shared by the device apps.
    /// </summary>
    public sealed class AdcInput : IAnalogInput
    {
        private readonly AdcChannel _channel;

        public AdcInput(AdcController adc, int channel)
        {
            _channel = adc.OpenChannel(channel);
        }

        public double Read()
        {
            return _channel.ReadRatio();
        }
    }
}

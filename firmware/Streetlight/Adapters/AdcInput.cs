using System.Device.Adc;
using Anshimi.Firmware.Hal;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>A slowly changing analog input (the ambient light sensor) as a fraction of full scale.</summary>
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

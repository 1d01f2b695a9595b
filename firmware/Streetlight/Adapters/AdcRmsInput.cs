using System;
using System.Device.Adc;
using System.Threading;
using Anshimi.Firmware.Hal;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>
    /// The lamp current: the ACS722 output swings around mid-scale with the 60 Hz mains current, so one read is a
    /// burst of samples over two and a half mains cycles, returned as the RMS deviation from its mean (a fraction
    /// of full scale). About 40 ms of the loop's time per read: the loop reads it once per tick.
    /// </summary>
    public sealed class AdcRmsInput : IAnalogInput
    {
        private const int Samples = 40;

        private readonly AdcChannel _channel;
        private readonly double[] _values = new double[Samples];

        public AdcRmsInput(AdcController adc, int channel)
        {
            _channel = adc.OpenChannel(channel);
        }

        public double Read()
        {
            double sum = 0;
            for (int i = 0; i < Samples; i++)
            {
                _values[i] = _channel.ReadRatio();
                sum += _values[i];

                // 1 ms apart: 40 samples span 2.4 cycles of Korea's 60 Hz mains.
                Thread.Sleep(1);
            }

            double mean = sum / Samples;
            double squares = 0;
            for (int i = 0; i < Samples; i++)
            {
                double d = _values[i] - mean;
                squares += d * d;
            }

            return Math.Sqrt(squares / Samples);
        }
    }
}

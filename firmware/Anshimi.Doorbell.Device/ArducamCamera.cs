using System.Device.I2c;
using System.Device.Spi;
using System.Threading;
using Anshimi.Firmware.Hal;

namespace Anshimi.Doorbell.Device
{
    /// <summary>
    /// The Arducam Mini 2MP Plus (OV2640) on SPI1 and I2C1 (hardware/doorbell/wiring.md). The sensor compresses
    /// JPEG itself and the module buffers the frame in its FIFO, so a capture is: clear the FIFO flag, start,
    /// poll for done, read the FIFO length and burst-read the frame over SPI. Sensor registers (JPEG mode,
    /// resolution) are written once over I2C at start-up from <see cref="SensorSetup"/>.
    /// </summary>
    public sealed class ArducamCamera : ICamera
    {
        // ArduChip registers (SPI): write = address | 0x80.
        private const byte RegTest = 0x00;
        private const byte RegFifoControl = 0x04;
        private const byte RegStatus = 0x41;
        private const byte RegFifoSize1 = 0x42;
        private const byte RegFifoSize2 = 0x43;
        private const byte RegFifoSize3 = 0x44;
        private const byte FifoClearDone = 0x01;
        private const byte FifoStart = 0x02;
        private const byte CaptureDoneMask = 0x08;
        private const byte BurstRead = 0x3C;
        private const byte TestPattern = 0x55;

        /// <summary>OV2640 SCCB address.</summary>
        private const int SensorAddress = 0x30;

        private const int CaptureTimeoutMs = 1500;
        private const int MaxImageBytes = 180 * 1024;

        private readonly IClock _clock;
        private readonly SpiDevice _spi;
        private readonly I2cDevice _sensor;
        private readonly byte[] _register = new byte[2];
        private readonly byte[] _answer = new byte[2];

        public ArducamCamera(byte[] sensorSetup, IClock clock)
        {
            _clock = clock;
            _spi = SpiDevice.Create(new SpiConnectionSettings(DoorbellPins.CameraSpiBus, DoorbellPins.CamCs)
            {
                ClockFrequency = 4000000,
                Mode = SpiMode.Mode0,
            });
            _sensor = I2cDevice.Create(new I2cConnectionSettings(DoorbellPins.CameraI2cBus, SensorAddress));
            SensorSetup = sensorSetup;
            for (int i = 0; i + 1 < sensorSetup.Length; i += 2)
            {
                _sensor.Write(new SpanByte(sensorSetup, i, 2));
            }
        }

        /// <summary>Register/value pairs written to the OV2640 at start-up (JPEG, 640×480).</summary>
        public byte[] SensorSetup { get; }

        public byte[] Capture()
        {
            // A cut door-station cable reads back as all ones or all zeros: no camera, no picture.
            WriteRegister(RegTest, TestPattern);
            if (ReadRegister(RegTest) != TestPattern)
            {
                return null;
            }

            WriteRegister(RegFifoControl, FifoClearDone);
            WriteRegister(RegFifoControl, FifoStart);
            long deadlineMs = _clock.MonotonicMs + CaptureTimeoutMs;
            while ((ReadRegister(RegStatus) & CaptureDoneMask) == 0)
            {
                if (_clock.MonotonicMs > deadlineMs)
                {
                    return null;
                }

                Thread.Sleep(10);
            }

            int length = ReadRegister(RegFifoSize1) | (ReadRegister(RegFifoSize2) << 8) | ((ReadRegister(RegFifoSize3) & 0x7F) << 16);
            if (length <= 0 || length > MaxImageBytes)
            {
                return null;
            }

            var command = new byte[1 + length];
            var image = new byte[1 + length];
            command[0] = BurstRead;
            _spi.TransferFullDuplex(command, image);
            var jpeg = new byte[length];
            System.Array.Copy(image, 1, jpeg, 0, length);
            WriteRegister(RegFifoControl, FifoClearDone);
            return jpeg;
        }

        private void WriteRegister(byte address, byte value)
        {
            _register[0] = (byte)(address | 0x80);
            _register[1] = value;
            _spi.Write(_register);
        }

        private byte ReadRegister(byte address)
        {
            _register[0] = (byte)(address & 0x7F);
            _register[1] = 0;
            _spi.TransferFullDuplex(_register, _answer);
            return _answer[1];
        }
    }
}

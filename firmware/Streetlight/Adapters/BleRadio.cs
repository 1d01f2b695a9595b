using System;
using Anshimi.Firmware.Hal;
using nanoFramework.Device.Bluetooth;
using nanoFramework.Device.Bluetooth.Advertisement;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>
    /// nanoFramework.Device.Bluetooth behind <see cref="IBleRadio"/>. The library parses what it hears into sections,
    /// so the receiver writes Anshimi's manufacturer data back into the AD structure the protocol specifies
    /// (protocol/README.md §7) and the portable code parses it as on any other radio; the publisher takes the frame
    /// out of the controller's advertising data the same way.
    /// </summary>
    public sealed class BleRadio : IBleRadio
    {
        private readonly BluetoothLEAdvertisementWatcher _watcher = new BluetoothLEAdvertisementWatcher();
        private readonly byte[] _received = new byte[Anshimi.Protocol.BleAdvertisement.MaxLegacyDataLength];
        private BluetoothLEAdvertisementPublisher? _publisher;

        public BleRadio()
        {
            _watcher.ScanningMode = BluetoothLEScanningMode.Passive;
            _watcher.Received += OnReceived;
        }

        public event AdvertisementReceivedHandler? AdvertisementReceived;

        public bool Advertise(byte[] data, int length)
        {
            int frameOffset;
            int frameLength;
            if (!Anshimi.Protocol.BleAdvertisement.TryFindFrame(data, 0, length, out frameOffset, out frameLength))
            {
                return false;
            }

            var frame = new byte[frameLength];
            Array.Copy(data, frameOffset, frame, 0, frameLength);
            var advertisement = new BluetoothLEAdvertisement();
            advertisement.Flags = BluetoothLEAdvertisementFlags.GeneralDiscoverableMode | BluetoothLEAdvertisementFlags.ClassicNotSupported;
            advertisement.ManufacturerData.Add(new BluetoothLEManufacturerData(Anshimi.Protocol.BleAdvertisement.CompanyId, new nanoFramework.Device.Bluetooth.Buffer(frame)));

            // The publisher copies its advertisement when started: a new beacon means stop, replace, start.
            StopAdvertising();
            _publisher = new BluetoothLEAdvertisementPublisher(advertisement);
            _publisher.Start();
            return _publisher.Status == BluetoothLEAdvertisementPublisherStatus.Started;
        }

        public void StopAdvertising()
        {
            if (_publisher != null)
            {
                _publisher.Stop();
                _publisher = null;
            }
        }

        public bool StartScanning()
        {
            _watcher.Start();
            return _watcher.Status == BluetoothLEAdvertisementWatcherStatus.Started;
        }

        public void StopScanning()
        {
            _watcher.Stop();
        }

        private void OnReceived(BluetoothLEAdvertisementWatcher sender, BluetoothLEAdvertisementReceivedEventArgs args)
        {
            AdvertisementReceivedHandler? handler = AdvertisementReceived;
            if (handler == null)
            {
                return;
            }

            foreach (BluetoothLEManufacturerData section in args.Advertisement.GetManufacturerDataByCompanyId(Anshimi.Protocol.BleAdvertisement.CompanyId))
            {
                int length = (int)section.Data.Length;
                if (length < 1 || length + 4 > _received.Length)
                {
                    continue;
                }

                // len · 0xFF · company id LE · frame, as it was on the air.
                _received[0] = (byte)(3 + length);
                _received[1] = Anshimi.Protocol.BleAdvertisement.AdTypeManufacturerData;
                _received[2] = (byte)(Anshimi.Protocol.BleAdvertisement.CompanyId & 0xFF);
                _received[3] = (byte)(Anshimi.Protocol.BleAdvertisement.CompanyId >> 8);
                var frame = new byte[length];
                DataReader.FromBuffer(section.Data).ReadBytes(frame);
                Array.Copy(frame, 0, _received, 4, length);
                handler(_received, length + 4, args.RawSignalStrengthInDBm);
            }
        }
    }
}

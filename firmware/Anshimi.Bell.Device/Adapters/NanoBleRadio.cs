using Anshimi.Firmware.Hal;
using nanoFramework.Device.Bluetooth;
using nanoFramework.Device.Bluetooth.Advertisement;

namespace Anshimi.Bell.Device
{
    /// <summary>
    /// <see cref="IBleRadio"/> over nanoFramework.Device.Bluetooth. The stack runs either as an advertiser
    /// (server mode) or as a scanner (client mode), so scanning pauses while a burst is on air and resumes
    /// after it: acks are heard between bursts. The publisher uses the stack's own advertising interval;
    /// the interval asked for is not settable through this API.
    /// </summary>
    public sealed class NanoBleRadio : IBleRadio
    {
        private readonly object _gate = new object();
        private BluetoothLEAdvertisementPublisher _publisher;
        private BluetoothLEAdvertisementWatcher _watcher;
        private bool _scanWanted;

        public event AdvertisementReceivedHandler AdvertisementReceived;

        public bool Advertise(byte[] data, int length, int intervalMs)
        {
            lock (_gate)
            {
                StopPublisher();
                StopWatcher();
                var advertisement = new BluetoothLEAdvertisement();

                // Our data is AD structures; the publisher rebuilds them from Flags and manufacturer data.
                int at = 0;
                while (at < length)
                {
                    int structureLength = data[at];
                    if (structureLength == 0 || at + 1 + structureLength > length)
                    {
                        break;
                    }

                    byte type = data[at + 1];
                    if (type == 0x01)
                    {
                        advertisement.Flags = (BluetoothLEAdvertisementFlags)data[at + 2];
                    }
                    else if (type == 0xFF && structureLength >= 3)
                    {
                        ushort company = (ushort)(data[at + 2] | (data[at + 3] << 8));
                        var manufacturerData = new byte[structureLength - 3];
                        System.Array.Copy(data, at + 4, manufacturerData, 0, manufacturerData.Length);
                        advertisement.ManufacturerData.Add(new BluetoothLEManufacturerData(company, new Buffer(manufacturerData)));
                    }

                    at += 1 + structureLength;
                }

                _publisher = new BluetoothLEAdvertisementPublisher(advertisement);
                _publisher.Start();
                return _publisher.Status == BluetoothLEAdvertisementPublisherStatus.Started;
            }
        }

        public void StopAdvertising()
        {
            lock (_gate)
            {
                StopPublisher();
                if (_scanWanted)
                {
                    StartWatcher();
                }
            }
        }

        /// <summary>While a burst is on air the scan waits for its end; that counts as accepted.</summary>
        public bool StartScanning()
        {
            lock (_gate)
            {
                _scanWanted = true;
                if (_publisher != null)
                {
                    return true;
                }

                StartWatcher();
                return _watcher.Status == BluetoothLEAdvertisementWatcherStatus.Started;
            }
        }

        public void StopScanning()
        {
            lock (_gate)
            {
                _scanWanted = false;
                StopWatcher();
            }
        }

        private void StartWatcher()
        {
            if (_watcher != null)
            {
                return;
            }

            _watcher = new BluetoothLEAdvertisementWatcher();
            _watcher.ScanningMode = BluetoothLEScanningMode.Passive;
            _watcher.Received += OnReceived;
            _watcher.Start();
        }

        private void StopWatcher()
        {
            if (_watcher != null)
            {
                _watcher.Stop();
                _watcher.Received -= OnReceived;
                _watcher = null;
            }
        }

        private void StopPublisher()
        {
            if (_publisher != null)
            {
                _publisher.Stop();
                _publisher = null;
            }
        }

        /// <summary>The stack hands over parsed sections; they are laid out again as AD structures for the bell.</summary>
        private void OnReceived(BluetoothLEAdvertisementWatcher sender, BluetoothLEAdvertisementReceivedEventArgs args)
        {
            AdvertisementReceivedHandler handler = AdvertisementReceived;
            if (handler == null)
            {
                return;
            }

            var bytes = new byte[31];
            int at = 0;
            foreach (BluetoothLEAdvertisementDataSection section in args.Advertisement.DataSections)
            {
                // Buffer keeps its bytes internal: DataReader is the public way to copy them out.
                var data = new byte[section.Data.Length];
                DataReader.FromBuffer(section.Data).ReadBytes(data);
                if (at + 2 + data.Length > bytes.Length)
                {
                    return;
                }

                bytes[at] = (byte)(data.Length + 1);
                bytes[at + 1] = section.DataType;
                System.Array.Copy(data, 0, bytes, at + 2, data.Length);
                at += 2 + data.Length;
            }

            handler(bytes, at, args.RawSignalStrengthInDBm);
        }
    }
}

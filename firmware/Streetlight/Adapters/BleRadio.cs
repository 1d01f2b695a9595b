using System;
using System.Threading;
using Anshimi.Firmware.Hal;
using nanoFramework.Device.Bluetooth;
using nanoFramework.Device.Bluetooth.Advertisement;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>
    /// nanoFramework.Device.Bluetooth behind <see cref="IBleRadio"/>.
    /// <para>
    /// nanoFramework runs the radio either as a server (advertising) or as a client (scanning), never both at once,
    /// so this adapter shares the air in time: it scans, and once every advertising interval it stops scanning for
    /// <see cref="BurstMs"/> to advertise the newest beacon. Phones and the gateway repeat their advertisements many
    /// times a second, so the light still hears them within a cycle; the gateway hears the beacon once a cycle.
    /// </para>
    /// <para>
    /// The library parses what it hears into sections, so the receiver writes Anshimi's manufacturer data back into
    /// the AD structure of protocol/README.md §7 and the portable code parses it as on any other radio.
    /// </para>
    /// </summary>
    public sealed class BleRadio : IBleRadio
    {
        public const int BurstMs = 200;

        // The radio lock is held through a burst; the frame has its own, so the device loop never waits on a burst.
        private readonly object _lock = new object();
        private readonly object _frameLock = new object();
        private readonly BluetoothLEAdvertisementWatcher _watcher = new BluetoothLEAdvertisementWatcher();
        private readonly byte[] _received = new byte[Anshimi.Protocol.BleAdvertisement.MaxLegacyDataLength];
        private readonly Timer _cycle;
        private byte[]? _frame;
        private int _cycleMs;
        private bool _scanWanted;
        private bool _scanning;

        public BleRadio()
        {
            _watcher.ScanningMode = BluetoothLEScanningMode.Passive;
            _watcher.Received += OnReceived;
            // The bursts start with the first advertisement, at the interval it asks for.
            _cycle = new Timer(AdvertiseBurst, null, Timeout.Infinite, Timeout.Infinite);
        }

        public event AdvertisementReceivedHandler? AdvertisementReceived;

        /// <summary>
        /// Keeps the frame from <paramref name="data"/> for the advertising bursts, one every <paramref name="intervalMs"/>;
        /// false for an interval that leaves no time to scan between two bursts.
        /// </summary>
        public bool Advertise(byte[] data, int length, int intervalMs)
        {
            int frameOffset;
            int frameLength;
            if (intervalMs <= BurstMs || !Anshimi.Protocol.BleAdvertisement.TryFindFrame(data, 0, length, out frameOffset, out frameLength))
            {
                return false;
            }

            var frame = new byte[frameLength];
            Array.Copy(data, frameOffset, frame, 0, frameLength);
            lock (_frameLock)
            {
                _frame = frame;
                if (intervalMs != _cycleMs)
                {
                    _cycleMs = intervalMs;
                    _cycle.Change(intervalMs, intervalMs);
                }
            }

            return true;
        }

        public void StopAdvertising()
        {
            lock (_frameLock)
            {
                _frame = null;
            }
        }

        public bool StartScanning()
        {
            lock (_lock)
            {
                _scanWanted = true;
                SetScanning(true);
                return _scanning;
            }
        }

        public void StopScanning()
        {
            lock (_lock)
            {
                _scanWanted = false;
                SetScanning(false);
            }
        }

        private void AdvertiseBurst(object state)
        {
            byte[]? frame;
            lock (_frameLock)
            {
                frame = _frame;
            }

            if (frame == null)
            {
                return;
            }

            lock (_lock)
            {
                SetScanning(false);
                var advertisement = new BluetoothLEAdvertisement();
                advertisement.Flags = BluetoothLEAdvertisementFlags.GeneralDiscoverableMode | BluetoothLEAdvertisementFlags.ClassicNotSupported;
                advertisement.ManufacturerData.Add(new BluetoothLEManufacturerData(Anshimi.Protocol.BleAdvertisement.CompanyId, new nanoFramework.Device.Bluetooth.Buffer(frame)));
                var publisher = new BluetoothLEAdvertisementPublisher(advertisement);
                try
                {
                    publisher.Start();
                    Thread.Sleep(BurstMs);
                }
                finally
                {
                    publisher.Stop();
                    SetScanning(_scanWanted);
                }
            }
        }

        private void SetScanning(bool on)
        {
            if (on && !_scanning)
            {
                _watcher.Start();
                _scanning = _watcher.Status == BluetoothLEAdvertisementWatcherStatus.Started;
            }
            else if (!on && _scanning)
            {
                _watcher.Stop();
                _scanning = false;
            }
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
                var frame = new byte[length];
                DataReader.FromBuffer(section.Data).ReadBytes(frame);
                _received[0] = (byte)(3 + length);
                _received[1] = Anshimi.Protocol.BleAdvertisement.AdTypeManufacturerData;
                _received[2] = (byte)(Anshimi.Protocol.BleAdvertisement.CompanyId & 0xFF);
                _received[3] = (byte)(Anshimi.Protocol.BleAdvertisement.CompanyId >> 8);
                Array.Copy(frame, 0, _received, 4, length);
                handler(_received, length + 4, args.RawSignalStrengthInDBm);
            }
        }
    }
}

using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Streetlight
{
    /// <summary>
    /// The escort keys a light holds (protocol/README.md §10.1): its area's key of the current epoch and, until the
    /// changeover ends, the previous one; never another area's. Kept in flash entry <see cref="RecordName"/>, replaced
    /// atomically: version (1) ‖ the current key's record (<see cref="EscortKeyRecord"/>, 39) ‖ has previous (1) ‖ previous
    /// epoch (1) ‖ previous key (32). A light without the entry takes no escort until its gateway delivers a key.
    /// </summary>
    public sealed class AreaEscortKeys
    {
        public const string RecordName = "escortkey";

        private const byte RecordVersion = 1;
        private const int ImageLength = 1 + EscortKeyRecord.Length + 1 + 1 + EscortKeySet.KeyLength;

        private readonly IDeviceStorage _storage;
        private readonly IHmacSha256 _mac;
        private readonly byte[] _image = new byte[ImageLength];
        private EscortKeySet? _current;
        private EscortKeySet? _previous;

        public AreaEscortKeys(IDeviceStorage storage, IHmacSha256 mac)
        {
            _storage = storage;
            _mac = mac;
            byte[]? image = storage.Read(RecordName);
            if (image != null && image.Length == ImageLength && image[0] == RecordVersion && EscortKeyRecord.ReadArea(image, 1) != 0)
            {
                System.Array.Copy(image, _image, ImageLength);
                Derive();
            }
        }

        /// <summary>The light's area, from its current key; 0 before it holds one.</summary>
        public ushort Area
        {
            get { return _current == null ? (ushort)0 : _current.Area; }
        }

        /// <summary>The current key's epoch (meaningful once <see cref="Area"/> is set).</summary>
        public byte Epoch
        {
            get { return _current == null ? (byte)0 : _current.Epoch; }
        }

        /// <summary>The Unix minute from which escorts of the previous epoch are refused.</summary>
        public uint ChangeoverEndMinute { get; private set; }

        public bool HasPrevious
        {
            get { return _previous != null; }
        }

        /// <summary>The keys of <paramref name="epoch"/> in the light's area, or null when it holds none of that epoch.</summary>
        public EscortKeySet? For(byte epoch)
        {
            if (_current != null && _current.Epoch == epoch)
            {
                return _current;
            }

            return _previous != null && _previous.Epoch == epoch ? _previous : null;
        }

        public bool IsPrevious(EscortKeySet keys)
        {
            return keys == _previous;
        }

        /// <summary>
        /// Takes a key record the gateway delivered: a new epoch of the light's area becomes current and the current one
        /// previous; a key of another area (the light was moved) replaces both; the current epoch again changes nothing.
        /// Written to flash before it is used. False when the flash refused it. The caller checks the record's area is not 0.
        /// </summary>
        public bool Install(byte[] record, int offset)
        {
            ushort area = EscortKeyRecord.ReadArea(record, offset);
            byte epoch = EscortKeyRecord.ReadEpoch(record, offset);
            if (_current != null && area == _current.Area && epoch == _current.Epoch)
            {
                return true;
            }

            var image = new byte[ImageLength];
            image[0] = RecordVersion;
            System.Array.Copy(record, offset, image, 1, EscortKeyRecord.Length);
            if (_current != null && area == _current.Area)
            {
                image[1 + EscortKeyRecord.Length] = 1;
                image[2 + EscortKeyRecord.Length] = _current.Epoch;
                System.Array.Copy(_image, 1 + EscortKeyRecord.KeyOffset, image, 3 + EscortKeyRecord.Length, EscortKeySet.KeyLength);
            }

            if (!_storage.Write(RecordName, image))
            {
                return false;
            }

            System.Array.Copy(image, _image, ImageLength);
            Derive();
            return true;
        }

        private void Derive()
        {
            ushort area = EscortKeyRecord.ReadArea(_image, 1);
            var key = new byte[EscortKeySet.KeyLength];
            System.Array.Copy(_image, 1 + EscortKeyRecord.KeyOffset, key, 0, key.Length);
            _current = new EscortKeySet(_mac, area, EscortKeyRecord.ReadEpoch(_image, 1), key);
            ChangeoverEndMinute = EscortKeyRecord.ReadChangeoverEnd(_image, 1);
            _previous = null;
            if (_image[1 + EscortKeyRecord.Length] == 1)
            {
                System.Array.Copy(_image, 3 + EscortKeyRecord.Length, key, 0, key.Length);
                _previous = new EscortKeySet(_mac, area, _image[2 + EscortKeyRecord.Length], key);
            }

            System.Array.Clear(key, 0, key.Length);
        }
    }
}

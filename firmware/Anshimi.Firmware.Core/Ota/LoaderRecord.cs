using Anshimi.Protocol;
using Anshimi.Protocol.Ota;

namespace Anshimi.Firmware.Ota
{
    /// <summary>
    /// The loader's state, the 40-byte record <c>loader</c> (protocol/README.md §11.3). Written only whole through
    /// <see cref="Hal.IDeviceStorage"/>, so a power cut leaves the old or the new state.
    /// </summary>
    public sealed class LoaderRecord
    {
        public const string Name = "loader";
        public const int Length = 40;
        public const int MaxTrialBoots = 3;
        public const char NoSlot = '\0';

        public char ActiveSlot = 'a';
        public char PreviousSlot = NoSlot;
        public bool OnTrial;
        public int TrialBoots;

        /// <summary>On trial: why the last trial boot ended (0: it crashed). After a fall-back: the reason to report.</summary>
        public byte Reason;

        public ReleaseVersion Floor = ReleaseVersion.Zero;
        public ReleaseVersion ActiveVersion = ReleaseVersion.Zero;
        public ReleaseVersion PreviousVersion = ReleaseVersion.Zero;
        public long TrialStartedUnixSeconds;
        public byte[] ActiveReleaseId = new byte[ReleaseManifest.ReleaseIdLength];

        /// <summary>The record, or a factory-fresh state when none was written; null when it is corrupt.</summary>
        public static LoaderRecord? Read(Hal.IDeviceStorage storage)
        {
            byte[]? data = storage.Read(Name);
            if (data == null)
            {
                return new LoaderRecord();
            }

            if (data.Length != Length || data[0] != 1 || !IsSlot((char)data[1]) ||
                (data[2] != 0 && !IsSlot((char)data[2])) || data[3] > 1)
            {
                return null;
            }

            var record = new LoaderRecord();
            record.ActiveSlot = (char)data[1];
            record.PreviousSlot = (char)data[2];
            record.OnTrial = data[3] == 1;
            record.TrialBoots = data[4];
            record.Reason = data[5];
            record.Floor = ReleaseVersion.Read(data, 6);
            record.ActiveVersion = ReleaseVersion.Read(data, 12);
            record.PreviousVersion = ReleaseVersion.Read(data, 18);
            record.TrialStartedUnixSeconds = ((long)BigEndian.ReadUInt32(data, 24) << 32) | BigEndian.ReadUInt32(data, 28);
            System.Array.Copy(data, 32, record.ActiveReleaseId, 0, ReleaseManifest.ReleaseIdLength);
            return record;
        }

        public bool Write(Hal.IDeviceStorage storage)
        {
            var data = new byte[Length];
            data[0] = 1;
            data[1] = (byte)ActiveSlot;
            data[2] = (byte)PreviousSlot;
            data[3] = OnTrial ? (byte)1 : (byte)0;
            data[4] = (byte)(TrialBoots > 255 ? 255 : TrialBoots);
            data[5] = Reason;
            Floor.Write(data, 6);
            ActiveVersion.Write(data, 12);
            PreviousVersion.Write(data, 18);
            BigEndian.WriteUInt32(data, 24, (uint)(TrialStartedUnixSeconds >> 32));
            BigEndian.WriteUInt32(data, 28, (uint)TrialStartedUnixSeconds);
            System.Array.Copy(ActiveReleaseId, 0, data, 32, ReleaseManifest.ReleaseIdLength);
            return storage.Write(Name, data);
        }

        public static char Other(char slot)
        {
            return slot == 'a' ? 'b' : 'a';
        }

        private static bool IsSlot(char slot)
        {
            return slot == 'a' || slot == 'b';
        }
    }
}

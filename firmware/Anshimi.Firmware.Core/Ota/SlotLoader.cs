using Anshimi.Firmware.Hal;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Ota
{
    /// <summary>
    /// What one boot decided: the slot to run with its manifest and (for the loader) its assemblies, or the loader's
    /// safe mode.
    /// </summary>
    public sealed class BootResult
    {
        public char Slot = LoaderRecord.NoSlot;
        public ReleaseManifest? Manifest;
        public byte[][]? Assemblies;
        public LoaderRecord Record = new LoaderRecord();

        /// <summary>No slot could be loaded: stay connected and report <c>failed</c>/<c>bad_slot</c> until an update repairs it.</summary>
        public bool SafeMode
        {
            get { return Manifest == null; }
        }
    }

    /// <summary>
    /// The fixed loader of protocol/README.md §11.3: two application slots, the <c>loader</c> record, the trial with
    /// its boot count, and the fall-back. Every change of state is one atomic record write made before anything
    /// depends on it, so a power cut at any step leaves the device booting the old or the new slot, never neither.
    /// </summary>
    public sealed class SlotLoader
    {
        public const string ManifestFile = "manifest";
        public const string SignatureFile = "signature";

        private readonly IDeviceStorage _records;
        private readonly IFirmwareFiles _files;
        private readonly ReleaseKeys _keys;

        public SlotLoader(IDeviceStorage records, IFirmwareFiles files, ReleaseKeys keys)
        {
            _records = records;
            _files = files;
            _keys = keys;
        }

        public static string PathOf(char slot, string file)
        {
            return new string(slot, 1) + "/" + file;
        }

        /// <summary>The state as recorded, factory-fresh when none; a corrupt record reads as factory-fresh on slot a.</summary>
        public LoaderRecord ReadRecord()
        {
            LoaderRecord? record = LoaderRecord.Read(_records);
            return record != null ? record : new LoaderRecord();
        }

        /// <summary>
        /// The running application's view of this boot, as the loader left it in the record: nothing is counted or
        /// written, and only the active slot's manifest is read (the loader checked its signature and files at this
        /// boot and loaded the assemblies already).
        /// </summary>
        public BootResult ReadRunning()
        {
            var result = new BootResult();
            result.Record = ReadRecord();
            byte[]? manifestBytes = _files.Read(PathOf(result.Record.ActiveSlot, ManifestFile));
            ReleaseManifest? manifest = manifestBytes == null ? null : ReleaseManifest.Read(manifestBytes);
            if (manifest != null)
            {
                result.Slot = result.Record.ActiveSlot;
                result.Manifest = manifest;
            }

            return result;
        }

        /// <summary>Steps 1–3 of a boot: count a trial boot, fall back when needed, and read the slot to load.</summary>
        public BootResult Boot()
        {
            LoaderRecord record = ReadRecord();
            if (record.OnTrial)
            {
                record.TrialBoots++;
                if (!record.Write(_records))
                {
                    // A flash that refuses the count could boot a crashing image for ever: leave it now.
                    return FallBack(record, UpdateReason.FlashError);
                }

                if (record.TrialBoots > LoaderRecord.MaxTrialBoots)
                {
                    return FallBack(record, record.Reason != UpdateReason.None ? record.Reason : UpdateReason.Crashed);
                }
            }

            var result = new BootResult();
            result.Record = record;
            if (ReadSlot(record.ActiveSlot, result))
            {
                return result;
            }

            return FallBack(record, UpdateReason.BadSlot);
        }

        /// <summary>
        /// Makes a downloaded slot the active one on trial: the single write that switches (§11.3). Before it the old
        /// slot runs, after it the new one.
        /// </summary>
        public bool Activate(char slot, ReleaseManifest manifest, byte[] releaseId, long nowUnixSeconds)
        {
            LoaderRecord record = ReadRecord();
            var next = new LoaderRecord();
            next.ActiveSlot = slot;
            next.PreviousSlot = record.ActiveSlot;
            next.PreviousVersion = record.ActiveVersion;
            next.ActiveVersion = manifest.Version;
            next.Floor = record.Floor;
            next.OnTrial = true;
            next.TrialStartedUnixSeconds = nowUnixSeconds;
            next.ActiveReleaseId = releaseId;
            return next.Write(_records);
        }

        /// <summary>The application is connected and its heartbeat acknowledged: it stays, and the floor rises.</summary>
        public bool Confirm(ReleaseVersion releaseFloor)
        {
            LoaderRecord record = ReadRecord();
            if (!record.OnTrial)
            {
                return true;
            }

            record.OnTrial = false;
            record.TrialBoots = 0;
            record.Reason = UpdateReason.None;
            if (releaseFloor.CompareTo(record.Floor) > 0)
            {
                record.Floor = releaseFloor;
            }

            return record.Write(_records);
        }

        /// <summary>Before the application resets a trial boot that was never confirmed in time.</summary>
        public bool EndTrialBoot(byte reason)
        {
            LoaderRecord record = ReadRecord();
            if (!record.OnTrial)
            {
                return true;
            }

            record.Reason = reason;
            return record.Write(_records);
        }

        /// <summary>A fall-back was reported: the reason is cleared so it is reported once.</summary>
        public bool ClearReason()
        {
            LoaderRecord record = ReadRecord();
            if (record.OnTrial || record.Reason == UpdateReason.None)
            {
                return true;
            }

            record.Reason = UpdateReason.None;
            return record.Write(_records);
        }

        /// <summary>Deletes a slot's files (its manifest names them).</summary>
        public void DeleteSlot(char slot)
        {
            byte[]? manifestBytes = _files.Read(PathOf(slot, ManifestFile));
            ReleaseManifest? manifest = manifestBytes == null ? null : ReleaseManifest.Read(manifestBytes);
            // The manifest goes first: a slot without one is never loaded, whatever files a cut leaves behind.
            _files.Delete(PathOf(slot, ManifestFile));
            _files.Delete(PathOf(slot, SignatureFile));
            if (manifest != null)
            {
                for (int i = 0; i < manifest.AssemblyNames.Length; i++)
                {
                    _files.Delete(PathOf(slot, manifest.AssemblyNames[i]));
                }
            }
        }

        /// <summary>Checks a slot as step 3 does and reads its assemblies into <paramref name="result"/>.</summary>
        public bool ReadSlot(char slot, BootResult result)
        {
            byte[]? manifestBytes = _files.Read(PathOf(slot, ManifestFile));
            if (manifestBytes == null)
            {
                return false;
            }

            ReleaseManifest? manifest = ReleaseManifest.Read(manifestBytes);
            if (_keys.Check(manifest, manifestBytes, _files.Read(PathOf(slot, SignatureFile))) != UpdateReason.None || manifest == null)
            {
                return false;
            }

            var assemblies = new byte[manifest.AssemblyNames.Length][];
            for (int i = 0; i < assemblies.Length; i++)
            {
                byte[]? pe = _files.Read(PathOf(slot, manifest.AssemblyNames[i]));
                if (pe == null || pe.Length != manifest.AssemblyLengths[i])
                {
                    return false;
                }

                assemblies[i] = pe;
            }

            result.Slot = slot;
            result.Manifest = manifest;
            result.Assemblies = assemblies;
            result.Record.ActiveReleaseId = ReleaseManifest.ReleaseIdOf(manifestBytes, new Sha256());
            return true;
        }

        private BootResult FallBack(LoaderRecord record, byte reason)
        {
            char failed = record.ActiveSlot;
            var result = new BootResult();
            bool canFallBack = record.PreviousSlot != LoaderRecord.NoSlot && record.PreviousVersion.CompareTo(record.Floor) >= 0;
            if (canFallBack && ReadSlot(record.PreviousSlot, result))
            {
                var next = new LoaderRecord();
                next.ActiveSlot = record.PreviousSlot;
                next.ActiveVersion = record.PreviousVersion;
                next.Floor = record.Floor;
                next.Reason = reason;
                next.ActiveReleaseId = result.Record.ActiveReleaseId;
                next.Write(_records);
                result.Record = next;
                DeleteSlot(failed);
                return result;
            }

            // Nothing to go back to: keep the slot it has (on trial no more) and let safe mode or the image report it.
            record.OnTrial = false;
            record.Reason = reason;
            record.Write(_records);
            result = new BootResult();
            result.Record = record;
            if (reason != UpdateReason.BadSlot)
            {
                ReadSlot(record.ActiveSlot, result);
            }

            return result;
        }
    }
}

using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Ota
{
    /// <summary>Timeouts of the device's update client (protocol/README.md §11.3, §11.5).</summary>
    public sealed class UpdateClientSettings
    {
        public int RequestRepeatMs = 30000;
        public int TrialTimeoutMs = 10 * 60 * 1000;
        public int MaxBadCopies = 5;
        public int ReportEveryChunks = 16;
    }

    /// <summary>
    /// The device side of an update (protocol/README.md §11.5), over MQTT or a streetlight's BLE carousel (§11.9): checks
    /// an offer's manifest and signature, asks for chunks (MQTT) or keeps those it lacks as they come (carousel), from the
    /// <c>download</c> record (so it resumes there after a reboot or a lost link), checks each chunk's SHA-256, writes the
    /// inactive slot, activates it through the loader only when nothing holds the update, and confirms the trial when the
    /// gateway accepts it. Synchronous: every call returns within its link's timeouts.
    /// </summary>
    public sealed class UpdateClient
    {
        public const string DownloadRecord = "download";
        public const string PartFile = "part";
        public const string OfferFile = "offer";

        private static readonly byte[] NoRelease = new byte[ReleaseManifest.ReleaseIdLength];

        private readonly IUpdateLink _link;
        private readonly SlotLoader _loader;
        private readonly IFirmwareFiles _files;
        private readonly IDeviceStorage _records;
        private readonly IClock _clock;
        private readonly IUpdateHold _hold;
        private readonly ReleaseKeys _keys;
        private readonly UpdateClientSettings _settings;
        private readonly BootResult _boot;
        private readonly string _board;
        private readonly string _profile;
        private readonly Sha256 _sha = new Sha256();
        private readonly long _bootMs;

        private ReleaseManifest? _manifest;
        private byte[] _releaseId = NoRelease;
        private char _target = LoaderRecord.NoSlot;
        private int _next;
        private byte[] _held = new byte[0];
        private int _heldCount;
        private int _windowEnd;
        private int _badCopies;
        private long _requestedAtMs;
        private bool _verified;
        private bool _subscribed;
        private bool _trialReported;
        private long _trialReportedAtMs;

        public UpdateClient(
            IUpdateLink link, BootResult boot, SlotLoader loader, ReleaseKeys keys, IFirmwareFiles files,
            IDeviceStorage records, IClock clock, IUpdateHold hold, string board, string profile, UpdateClientSettings settings)
        {
            _link = link;
            _boot = boot;
            _loader = loader;
            _keys = keys;
            _files = files;
            _records = records;
            _clock = clock;
            _hold = hold;
            _board = board;
            _profile = profile;
            _settings = settings;
            _bootMs = clock.MonotonicMs;
            Resume();
        }

        /// <summary>Set when the device must restart now: a slot was activated, or a trial boot ran out of time.</summary>
        public bool RestartRequested { get; private set; }

        /// <summary>The state of the newest report (<see cref="UpdateState"/>): where the device says it stands.</summary>
        public byte LastState { get; private set; }

        /// <summary>The reason of the newest report (<see cref="UpdateReason"/>).</summary>
        public byte LastReason { get; private set; }

        /// <summary>Chunks checked and kept of the download in progress.</summary>
        public int ChunksDone
        {
            get { return _heldCount; }
        }

        /// <summary>The release being downloaded or waiting to be activated, or null.</summary>
        public ReleaseManifest? Download
        {
            get { return _manifest; }
        }

        /// <summary>The id of <see cref="Download"/>'s release (zeros for none).</summary>
        public byte[] DownloadId
        {
            get { return _releaseId; }
        }

        /// <summary>Whether the download is whole, checked and written to its slot.</summary>
        public bool Verified
        {
            get { return _verified; }
        }

        /// <summary>Whether chunk <paramref name="index"/> of the download is already kept.</summary>
        public bool Holds(int index)
        {
            return index < _next || (index - _next < _held.Length * 8 && (_held[(index - _next) / 8] & (0x80 >> ((index - _next) % 8))) != 0);
        }

        /// <summary>After each connection: subscribe, report where the device stands, and go on downloading or ask again for the switch.</summary>
        public void OnConnected()
        {
            _subscribed = _link.Open();
            LoaderRecord record = _boot.Record;
            if (_boot.SafeMode)
            {
                Report(NoRelease, UpdateState.Failed, UpdateReason.BadSlot);
            }
            else if (record.OnTrial)
            {
                ReportTrial();
            }
            else if (record.Reason != UpdateReason.None)
            {
                // A fall-back clears the previous slot; a trial that had none to go back to stays where it is.
                byte state = record.PreviousSlot == LoaderRecord.NoSlot ? UpdateState.RolledBack : UpdateState.Failed;
                if (Report(NoRelease, state, record.Reason))
                {
                    _loader.ClearReason();
                    record.Reason = UpdateReason.None;
                }
            }
            else
            {
                Report(NoRelease, UpdateState.Idle, UpdateReason.None);
            }

            // A verified download says so again: the activation may have come, or the switch been cut, while it was off.
            if (_manifest != null)
            {
                Report(_releaseId, _verified ? UpdateState.Verified : UpdateState.Downloading, UpdateReason.None);
                if (!_verified)
                {
                    RequestWindow();
                }
            }
        }

        /// <summary>Subscribes again after a failed subscription, repeats an unanswered chunk request and an unanswered trial report, and ends a trial boot that ran out of time.</summary>
        public void Tick()
        {
            long now = _clock.MonotonicMs;

            // A link lost while subscribing leaves the device deaf to its update topic: subscribe until it holds.
            if (!_subscribed && _link.IsConnected)
            {
                _subscribed = _link.Open();
            }

            if (_manifest != null && !_verified && _link.IsConnected && now - _requestedAtMs >= _settings.RequestRepeatMs)
            {
                RequestWindow();
            }

            // A trial report lost on its way would leave the gateway waiting for it until the trial runs out.
            if (_trialReported && _boot.Record.OnTrial && !RestartRequested && _link.IsConnected && now - _trialReportedAtMs >= _settings.RequestRepeatMs)
            {
                ReportTrial();
            }

            if (_boot.Record.OnTrial && !RestartRequested && now - _bootMs >= _settings.TrialTimeoutMs)
            {
                _loader.EndTrialBoot(UpdateReason.TrialTimeout);
                RestartRequested = true;
            }
        }

        /// <summary>One message from <c>…/ota/down</c>; anything malformed is dropped.</summary>
        public bool Handle(byte[] payload)
        {
            UpdateMessage? message = UpdateMessage.Read(payload);
            if (message == null)
            {
                return false;
            }

            switch (message.Type)
            {
                case UpdateMessage.Offer:
                    OnOffer(message.Manifest!, message.Signature!);
                    return true;
                case UpdateMessage.Chunk:
                    OnChunk(message);
                    return true;
                case UpdateMessage.Activate:
                    OnActivate(message.ReleaseId);
                    return true;
                case UpdateMessage.TrialAccepted:
                    OnTrialAccepted(message.ReleaseId);
                    return true;
                case UpdateMessage.Cancel:
                    OnCancel(message.ReleaseId);
                    return true;
                default:
                    return false;
            }
        }

        private void OnOffer(byte[] manifestBytes, byte[] signature)
        {
            ReleaseManifest? manifest = ReleaseManifest.Read(manifestBytes);
            byte[] releaseId = ReleaseManifest.ReleaseIdOf(manifestBytes, _sha);
            byte refusal = _keys.Check(manifest, manifestBytes, signature);
            if (refusal != UpdateReason.None || manifest == null)
            {
                Report(manifest == null ? NoRelease : releaseId, UpdateState.Refused, refusal);
                return;
            }

            LoaderRecord record = _boot.Record;
            if (ProvisioningCodec.SameBytes(releaseId, record.ActiveReleaseId))
            {
                // Its acceptance may not have come yet (or the offer came again after the switch): still on trial, it says so.
                if (record.OnTrial)
                {
                    ReportTrial();
                }
                else
                {
                    Report(releaseId, UpdateState.Confirmed, UpdateReason.None);
                }

                return;
            }

            if (_manifest != null && ProvisioningCodec.SameBytes(releaseId, _releaseId))
            {
                Report(releaseId, _verified ? UpdateState.Verified : UpdateState.Downloading, UpdateReason.None);
                if (!_verified)
                {
                    RequestWindow();
                }

                return;
            }

            byte reason = UpdateReason.None;
            if (!manifest.FitsKind(_profile))
            {
                reason = UpdateReason.WrongKind;
            }
            else if (!manifest.FitsBoard(_board))
            {
                reason = UpdateReason.WrongBoard;
            }
            else if (manifest.Version.CompareTo(record.ActiveVersion) <= 0 || manifest.Version.CompareTo(record.Floor) <= 0)
            {
                reason = UpdateReason.Downgrade;
            }
            else if (record.ActiveVersion.CompareTo(manifest.MinimumVersion) < 0)
            {
                reason = UpdateReason.TooOld;
            }
            else if (_manifest != null || record.OnTrial)
            {
                reason = UpdateReason.Busy;
            }
            else if (_files.FreeBytes < 2L * manifest.ImageSize)
            {
                reason = UpdateReason.NoSpace;
            }
            else if (_hold.HoldsUpdate)
            {
                reason = UpdateReason.AlarmPending;
            }

            if (reason != UpdateReason.None)
            {
                Report(releaseId, UpdateState.Refused, reason);
                return;
            }

            char target = LoaderRecord.Other(record.ActiveSlot);
            _files.Delete(PartFile);
            if (!_files.Write(OfferFile, UpdateMessage.EncodeOffer(manifestBytes, signature)) || !WriteDownload(releaseId, target, 0))
            {
                Report(releaseId, UpdateState.Failed, UpdateReason.FlashError);
                return;
            }

            Start(manifest, releaseId, target, 0);
            Report(releaseId, UpdateState.Offered, UpdateReason.None);
            RequestWindow();
        }

        private void OnChunk(UpdateMessage message)
        {
            ReleaseManifest? manifest = _manifest;
            // Asked-for chunks come in order; a carousel's in any order, and a chunk already kept is heard again each round.
            if (manifest == null || _verified || !ProvisioningCodec.SameBytes(message.ReleaseId, _releaseId) ||
                message.Index >= manifest.ChunkCount || Holds(message.Index) || (_link.AsksForChunks && message.Index != _next))
            {
                return;
            }

            byte[] data = message.Data!;
            if (message.Offset != message.Index * manifest.ChunkSize || !manifest.IsChunk(message.Index, data, 0, data.Length, _sha))
            {
                if (++_badCopies >= _settings.MaxBadCopies)
                {
                    Fail(UpdateReason.BadChunk);
                    return;
                }

                RequestWindow();
                return;
            }

            // The chunk is on flash before the record says so: a cut repeats at most this chunk.
            if (!_files.WriteAt(PartFile, message.Offset, data, 0, data.Length))
            {
                Fail(UpdateReason.FlashError);
                return;
            }

            Keep(message.Index);
            if (!WriteDownload(_releaseId, _target, _next))
            {
                Fail(UpdateReason.FlashError);
                return;
            }

            _badCopies = 0;
            if (_next == manifest.ChunkCount)
            {
                Finish(manifest);
                return;
            }

            if (_heldCount % _settings.ReportEveryChunks == 0)
            {
                Report(_releaseId, UpdateState.Downloading, UpdateReason.None);
            }

            if (_link.AsksForChunks && _next >= _windowEnd)
            {
                RequestWindow();
            }
        }

        private void Finish(ReleaseManifest manifest)
        {
            var buffer = new byte[manifest.ChunkSize];
            _sha.Reset();
            for (int i = 0; i < manifest.ChunkCount; i++)
            {
                int length = manifest.ChunkLength(i);
                if (!_files.ReadAt(PartFile, i * manifest.ChunkSize, buffer, length))
                {
                    Fail(UpdateReason.FlashError);
                    return;
                }

                _sha.Update(buffer, 0, length);
            }

            var hash = new byte[Sha256.HashLength];
            _sha.Final(hash, 0);
            if (!ProvisioningCodec.SameBytes(hash, manifest.ImageHash))
            {
                Fail(UpdateReason.ImageMismatch);
                return;
            }

            if (!WriteSlot(manifest))
            {
                Fail(UpdateReason.FlashError);
                return;
            }

            _verified = true;
            Report(_releaseId, UpdateState.Verified, UpdateReason.None);
        }

        // The .pe files, then the signature, then the manifest: a slot is whole only once its manifest is there.
        private bool WriteSlot(ReleaseManifest manifest)
        {
            _loader.DeleteSlot(_target);
            int position = 0;
            for (int i = 0; i < manifest.AssemblyNames.Length; i++)
            {
                var pe = new byte[manifest.AssemblyLengths[i]];
                if (!_files.ReadAt(PartFile, position, pe, pe.Length) || !_files.Write(SlotLoader.PathOf(_target, manifest.AssemblyNames[i]), pe))
                {
                    return false;
                }

                position += pe.Length;
            }

            UpdateMessage? offer = ReadOffer();
            if (offer == null || !_files.Write(SlotLoader.PathOf(_target, SlotLoader.SignatureFile), offer.Signature!) ||
                !_files.Write(SlotLoader.PathOf(_target, SlotLoader.ManifestFile), offer.Manifest!))
            {
                return false;
            }

            // Verified: the download record now says so, and the part is no longer needed.
            if (!WriteDownload(_releaseId, _target, manifest.ChunkCount))
            {
                return false;
            }

            _files.Delete(PartFile);
            return true;
        }

        private void OnActivate(byte[] releaseId)
        {
            if (!_verified || !ProvisioningCodec.SameBytes(releaseId, _releaseId) || _manifest == null)
            {
                return;
            }

            if (_hold.HoldsUpdate)
            {
                Report(_releaseId, UpdateState.Refused, UpdateReason.AlarmPending);
                return;
            }

            var check = new BootResult();
            if (!_loader.ReadSlot(_target, check))
            {
                Fail(UpdateReason.BadSlot);
                return;
            }

            Report(_releaseId, UpdateState.Activating, UpdateReason.None);
            if (!_loader.Activate(_target, _manifest, _releaseId, ToUnixSeconds(_clock.UtcNow)))
            {
                Report(_releaseId, UpdateState.Failed, UpdateReason.FlashError);
                return;
            }

            ClearDownload();
            RestartRequested = true;
        }

        private void OnTrialAccepted(byte[] releaseId)
        {
            LoaderRecord record = _boot.Record;
            if (!ProvisioningCodec.SameBytes(releaseId, record.ActiveReleaseId) || _boot.Manifest == null)
            {
                return;
            }

            if (!record.OnTrial)
            {
                // Confirmed already: the gateway accepts again because it never heard the confirmation.
                Report(releaseId, UpdateState.Confirmed, UpdateReason.None);
                return;
            }

            if (_loader.Confirm(_boot.Manifest.Floor))
            {
                record.OnTrial = false;
                if (_boot.Manifest.Floor.CompareTo(record.Floor) > 0)
                {
                    record.Floor = _boot.Manifest.Floor;
                }

                Report(releaseId, UpdateState.Confirmed, UpdateReason.None);
            }
        }

        private void OnCancel(byte[] releaseId)
        {
            if (_manifest == null || !ProvisioningCodec.SameBytes(releaseId, _releaseId))
            {
                return;
            }

            byte[] cancelled = _releaseId;
            ClearDownload();
            Report(cancelled, UpdateState.Cancelled, UpdateReason.None);
        }

        private void Fail(byte reason)
        {
            Report(_releaseId, UpdateState.Failed, reason);
            ClearDownload();
        }

        private void Resume()
        {
            byte[]? download = _records.Read(DownloadRecord);
            UpdateMessage? offer = download != null && download.Length >= 11 ? ReadOffer() : null;
            ReleaseManifest? manifest = offer == null ? null : ReleaseManifest.Read(offer.Manifest!);
            if (download == null || manifest == null || _keys.Check(manifest, offer!.Manifest!, offer.Signature) != UpdateReason.None)
            {
                return;
            }

            var releaseId = new byte[ReleaseManifest.ReleaseIdLength];
            System.Array.Copy(download, 0, releaseId, 0, releaseId.Length);
            char target = (char)download[8];
            int next = BigEndian.ReadUInt16(download, 9);
            if (!ProvisioningCodec.SameBytes(releaseId, ReleaseManifest.ReleaseIdOf(offer.Manifest!, _sha)) ||
                target == _boot.Record.ActiveSlot || (target != 'a' && target != 'b') || next > manifest.ChunkCount ||
                (download.Length != 11 && download.Length != 11 + HeldLength(manifest, next)))
            {
                ClearDownload();
                return;
            }

            Start(manifest, releaseId, target, next);
            if (download.Length > 11)
            {
                System.Array.Copy(download, 11, _held, 0, _held.Length);
                _heldCount = next;
                for (int i = next; i < manifest.ChunkCount; i++)
                {
                    if (Holds(i))
                    {
                        _heldCount++;
                    }
                }
            }

            if (next == manifest.ChunkCount)
            {
                // Verified before the cut; a slot that no longer reads whole is written again from nothing.
                _verified = _loader.ReadSlot(target, new BootResult());
                if (!_verified)
                {
                    Start(manifest, releaseId, target, 0);
                    WriteDownload(releaseId, target, 0);
                }
            }
        }

        private void Start(ReleaseManifest manifest, byte[] releaseId, char target, int next)
        {
            _manifest = manifest;
            _releaseId = releaseId;
            _target = target;
            _next = next;
            _heldCount = next;
            _held = new byte[HeldLength(manifest, next)];
            _windowEnd = next;
            _badCopies = 0;
            _verified = false;
        }

        private void ClearDownload()
        {
            _records.Write(DownloadRecord, new byte[0]);
            _files.Delete(PartFile);
            _files.Delete(OfferFile);
            _manifest = null;
            _releaseId = NoRelease;
            _target = LoaderRecord.NoSlot;
            _next = 0;
            _held = new byte[0];
            _heldCount = 0;
            _verified = false;
        }

        // Marks a chunk kept and moves the lowest missing chunk past every kept one.
        private void Keep(int index)
        {
            int bit = index - _next;
            _held[bit / 8] |= (byte)(0x80 >> (bit % 8));
            _heldCount++;
            int advance = 0;
            while (_next + advance < _manifest!.ChunkCount && Holds(_next + advance))
            {
                advance++;
            }

            if (advance == 0)
            {
                return;
            }

            // The bits stay relative to the lowest missing chunk.
            var moved = new byte[HeldLength(_manifest, _next + advance)];
            for (int i = _next + advance; i < _manifest.ChunkCount; i++)
            {
                if (Holds(i))
                {
                    int at = i - _next - advance;
                    moved[at / 8] |= (byte)(0x80 >> (at % 8));
                }
            }

            _next += advance;
            _held = moved;
        }

        private static int HeldLength(ReleaseManifest manifest, int next)
        {
            return (manifest.ChunkCount - next + 7) / 8;
        }

        private UpdateMessage? ReadOffer()
        {
            byte[]? data = _files.Read(OfferFile);
            UpdateMessage? offer = data == null ? null : UpdateMessage.Read(data);
            return offer != null && offer.Type == UpdateMessage.Offer ? offer : null;
        }

        // 11 bytes while chunks are kept in order; with chunks kept beyond the lowest missing one (a carousel), one bit per
        // chunk from it on.
        private bool WriteDownload(byte[] releaseId, char target, int next)
        {
            bool beyond = _heldCount > next && next == _next;
            var data = new byte[beyond ? 11 + _held.Length : 11];
            System.Array.Copy(releaseId, 0, data, 0, releaseId.Length);
            data[8] = (byte)target;
            BigEndian.WriteUInt16(data, 9, (ushort)next);
            if (beyond)
            {
                System.Array.Copy(_held, 0, data, 11, _held.Length);
            }

            return _records.Write(DownloadRecord, data);
        }

        private void RequestWindow()
        {
            ReleaseManifest? manifest = _manifest;
            if (manifest == null || !_link.AsksForChunks)
            {
                return;
            }

            int count = manifest.ChunkCount - _next;
            if (count > UpdateMessage.MaxChunksInFlight)
            {
                count = UpdateMessage.MaxChunksInFlight;
            }

            if (count <= 0)
            {
                return;
            }

            _windowEnd = _next + count;
            _requestedAtMs = _clock.MonotonicMs;
            _link.Send(UpdateMessage.EncodeChunkRequest(_releaseId, _next, count));
        }

        private void ReportTrial()
        {
            _trialReported = true;
            _trialReportedAtMs = _clock.MonotonicMs;
            Report(_boot.Record.ActiveReleaseId, UpdateState.Trial, UpdateReason.None);
        }

        private bool Report(byte[] releaseId, byte state, byte reason)
        {
            LoaderRecord record = _boot.Record;
            int count = _manifest == null ? 0 : _manifest.ChunkCount;
            byte[] report = UpdateMessage.EncodeStateReport(releaseId, state, reason, _heldCount, count, record.ActiveVersion, record.Floor, _board, _profile);
            LastState = state;
            LastReason = reason;
            return _link.Send(report);
        }

        private static long ToUnixSeconds(System.DateTime utc)
        {
            return (utc.Ticks - 621355968000000000L) / 10000000L;
        }
    }
}

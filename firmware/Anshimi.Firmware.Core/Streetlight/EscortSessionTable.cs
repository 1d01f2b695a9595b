namespace Anshimi.Firmware.Streetlight
{
    /// <summary>
    /// The newest Unix minute accepted per escort session, for a small fixed number of sessions (no allocation
    /// after construction). When full, the session heard longest ago makes room.
    /// </summary>
    public sealed class EscortSessionTable
    {
        private readonly uint[] _sessionIds;
        private readonly uint[] _lastMinutes;
        private readonly long[] _heardAtMs;
        private int _count;

        public EscortSessionTable(int capacity)
        {
            int size = capacity < 1 ? 1 : capacity;
            _sessionIds = new uint[size];
            _lastMinutes = new uint[size];
            _heardAtMs = new long[size];
        }

        public int Count
        {
            get { return _count; }
        }

        /// <summary>
        /// Accepts <paramref name="unixMinute"/> for the session unless it is older than the newest one accepted
        /// for it (the same minute again is the app repeating its frame, not a replay).
        /// </summary>
        public bool TryAccept(uint sessionId, uint unixMinute, long nowMs)
        {
            int oldest = 0;
            for (int i = 0; i < _count; i++)
            {
                if (_sessionIds[i] == sessionId)
                {
                    if (unixMinute < _lastMinutes[i])
                    {
                        return false;
                    }

                    _lastMinutes[i] = unixMinute;
                    _heardAtMs[i] = nowMs;
                    return true;
                }

                if (_heardAtMs[i] < _heardAtMs[oldest])
                {
                    oldest = i;
                }
            }

            int slot = _count < _sessionIds.Length ? _count++ : oldest;
            _sessionIds[slot] = sessionId;
            _lastMinutes[slot] = unixMinute;
            _heardAtMs[slot] = nowMs;
            return true;
        }
    }
}

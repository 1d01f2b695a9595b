using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// The DF2301Q on a UART: mutes the module's own spoken replies at start (a duress keyword must give no
    /// audible sign), then reads its stream and hands out recognised command ids.
    /// </summary>
    public sealed class Df2301qVoiceModule : IVoiceModule
    {
        private readonly IUartPort _port;
        private readonly Df2301qParser _parser = new Df2301qParser();
        private readonly byte[] _readBuffer = new byte[32];
        private int _readCount;
        private int _readAt;

        public Df2301qVoiceModule(IUartPort port)
        {
            _port = port;
            byte[] mute = Df2301qFrame.SetMute(true, 0);
            port.Write(mute, 0, mute.Length);
        }

        public Df2301qParser Parser
        {
            get { return _parser; }
        }

        public int NextCommand()
        {
            while (true)
            {
                if (_readAt == _readCount)
                {
                    _readCount = _port.Read(_readBuffer, 0, _readBuffer.Length);
                    _readAt = 0;
                    if (_readCount <= 0)
                    {
                        _readCount = 0;
                        return -1;
                    }
                }

                // Bytes after a result stay buffered for the next call, so no result is lost.
                if (_parser.Push(_readBuffer[_readAt++]))
                {
                    return _parser.CommandId;
                }
            }
        }
    }
}

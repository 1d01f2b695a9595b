namespace Anshimi.Firmware.Hal
{
    /// <summary>A serial port, non-blocking: reads return what has arrived, writes queue for sending.</summary>
    public interface IUartPort
    {
        /// <summary>Copies up to <paramref name="count"/> received bytes; 0 when nothing is waiting.</summary>
        int Read(byte[] buffer, int offset, int count);

        void Write(byte[] buffer, int offset, int count);
    }
}

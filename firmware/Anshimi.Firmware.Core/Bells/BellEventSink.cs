namespace Anshimi.Firmware.Bells
{
    /// <summary>Queues a Contact ID event for reliable delivery; false when the queue is full (try again later).</summary>
    public delegate bool BellEventSink(ushort eventCode, byte qualifier, ushort zone);
}

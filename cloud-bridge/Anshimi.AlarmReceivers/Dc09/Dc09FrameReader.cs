namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>
/// Cuts a TCP byte stream into DC-09 frames: from an LF to the next CR. Bytes before an LF are
/// skipped and a new LF restarts the frame, so the reader resynchronises after garbage; a run
/// longer than any DC-09 frame is handed out unterminated for the decoder to reject.
/// </summary>
public sealed class Dc09FrameReader(Stream stream)
{
    private readonly byte[] buffer = new byte[4096];
    private int start;
    private int end;

    /// <summary>The next frame, or null when the peer closed the stream.</summary>
    public async Task<byte[]?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var frame = new List<byte>();
        while (true)
        {
            while (start < end)
            {
                byte b = buffer[start++];
                if (b == '\n')
                {
                    frame.Clear();
                }
                else if (frame.Count == 0)
                {
                    continue;
                }

                frame.Add(b);
                if (b == '\r' || frame.Count >= Dc09Message.MaxFrameLength)
                {
                    return [.. frame];
                }
            }

            start = 0;
            end = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (end == 0)
            {
                return null;
            }
        }
    }
}

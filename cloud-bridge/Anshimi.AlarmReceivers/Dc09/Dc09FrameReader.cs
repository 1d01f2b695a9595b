namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>
/// Cuts a TCP byte stream into DC-09 frames: from an LF to the next CR. Bytes before an LF are
/// skipped and a new LF restarts the frame, so the reader resynchronises after garbage; a run
/// longer than any DC-09 frame is handed out unterminated for the decoder to reject. One exception
/// to skipping: a bare <c>NAK</c> or <c>"NAK"</c> outside any frame, which some receivers send, is
/// handed out as it is once nothing more has arrived behind it, so it is read as the NAK it is.
/// </summary>
public sealed class Dc09FrameReader(Stream stream)
{
    // Longest unframed run worth keeping: "NAK" in quotes with a few spaces or CRs around it.
    private const int BareLimit = 16;

    private readonly byte[] buffer = new byte[4096];
    private int start;
    private int end;

    /// <summary>The next frame (or bare NAK), or null when the peer closed the stream.</summary>
    public async Task<byte[]?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var frame = new List<byte>();
        var unframed = new List<byte>();
        while (true)
        {
            while (start < end)
            {
                byte b = buffer[start];
                if (b == '\n' && ReceiverResponse.IsBareNak([.. unframed]))
                {
                    // The LF stays in the buffer: it may start the next frame.
                    return [.. unframed];
                }

                start++;
                if (b == '\n')
                {
                    frame.Clear();
                    unframed.Clear();
                }
                else if (frame.Count == 0)
                {
                    if (unframed.Count == BareLimit)
                    {
                        unframed.RemoveAt(0);
                    }

                    unframed.Add(b);
                    continue;
                }

                frame.Add(b);
                if (b == '\r' || frame.Count >= Dc09Message.MaxFrameLength)
                {
                    return [.. frame];
                }
            }

            if (frame.Count == 0 && ReceiverResponse.IsBareNak([.. unframed]))
            {
                return [.. unframed];
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

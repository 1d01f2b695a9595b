using System.Net;
using System.Net.Sockets;
using Anshimi.AlarmReceivers.Dc09;
using Anshimi.Testing;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.AlarmReceivers.Tests;

[Trait("Category", "Integration")]
public class Dc09SenderTests
{
    private static readonly byte[] Key256 = Convert.FromHexString("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");

    private static Dc09SenderOptions Options(int port) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        ReceiverNumber = "1",
        AckTimeout = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(2),
        Retry = new Dc09RetryPolicy { MaxAttempts = 3, InitialDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(200) },
    };

    /// <summary>Virtual time for the supervision timer, started behind the receiver's real clock so every stamp stays inside its window.</summary>
    private static FakeTimeProvider SupervisionClock() => new(DateTimeOffset.UtcNow - TimeSpan.FromSeconds(20));

    private static Dc09Alarm Panic(string key = "A1B2C3D4:1") =>
        new("1234", ContactIdQualifier.NewEvent, 120, 1, 3, key, DateTimeOffset.UtcNow);

    [Fact]
    public async Task An_alarm_is_acknowledged_on_the_first_attempt()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port));

        Dc09SendOutcome outcome = await sender.SendAsync(Panic(), CancellationToken.None);

        Assert.Equal(new Dc09SendOutcome(Dc09SendStatus.Acknowledged, 1, 1, null, "acknowledged"), outcome);
        Dc09Message received = Assert.Single(receiver.Accepted);
        Assert.Equal(Dc09Message.ContactIdToken, received.Token);
        Assert.Equal("#1234|1120 01 003", received.Data);
        Assert.Equal(("1", "0", "1234"), (received.Receiver, received.Line, received.Account));
        Assert.Empty(receiver.Rejections);
        Assert.Equal(Dc09ConnectionState.Connected, sender.ConnectionStatus.State);
    }

    [Fact]
    public async Task Location_and_verification_text_travel_as_extended_data_in_clear_and_encrypted()
    {
        const string text = "CCTV 21m x1 37.540300,127.069400;89m x2 37.541100,127.068900";
        foreach (byte[]? key in new[] { null, Key256 })
        {
            await using var receiver = new Dc09TestReceiver(key);
            receiver.Start();
            await using var sender = new Dc09Sender(Options(receiver.Port) with { Key = key, IncludeTimeOfOccurrence = true });
            DateTimeOffset occurred = new(2026, 12, 6, 13, 0, 0, TimeSpan.Zero);

            Dc09SendOutcome outcome = await sender.SendAsync(
                new Dc09Alarm("1234", ContactIdQualifier.NewEvent, 120, 1, 3, "A1B2C3D4:9", occurred) { Location = (37.5404, 127.0692), Verification = text },
                CancellationToken.None);

            Assert.Equal(Dc09SendStatus.Acknowledged, outcome.Status);
            Dc09Message received = Assert.Single(receiver.Accepted);
            Assert.Equal("[H13:00:00,12-06-2026][X127.069200][Y37.540400][V" + text + "]", received.ExtendedData);
        }
    }

    [Theory]
    [InlineData("CCTV [21m]")]
    [InlineData("CCTV 21m | 89m")]
    [InlineData("CCTV 화양동")]
    public async Task Verification_text_a_receiver_could_misread_is_refused_before_sending(string text)
    {
        await using var sender = new Dc09Sender(Options(1));

        await Assert.ThrowsAsync<ArgumentException>(() => sender.SendAsync(Panic() with { Verification = text }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => sender.SendAsync(Panic() with { Verification = new string('x', Dc09Alarm.MaxVerificationLength + 1) }, CancellationToken.None));
    }

    [Fact]
    public async Task A_NAK_for_a_stale_timestamp_corrects_the_clock_and_the_retry_is_acknowledged()
    {
        // The receiver's clock runs three minutes ahead: our first timestamp is outside its window.
        await using var receiver = new Dc09TestReceiver(clockSkew: TimeSpan.FromMinutes(3));
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port));

        Dc09SendOutcome outcome = await sender.SendAsync(Panic(), CancellationToken.None);

        Assert.Equal(Dc09SendStatus.Acknowledged, outcome.Status);
        Assert.Equal(2, outcome.Attempts);
        Assert.Equal("Window", Assert.Single(receiver.Rejections).Reason);
        Assert.InRange(sender.ClockOffset.TotalSeconds, 178, 182);
        Assert.Equal(outcome.Sequence, Assert.Single(receiver.Accepted).Sequence);
    }

    [Fact]
    public async Task A_scripted_NAK_is_retried_with_the_same_sequence_number()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        receiver.Script(ReceiverBehavior.Nak);
        await using var sender = new Dc09Sender(Options(receiver.Port));

        Dc09SendOutcome outcome = await sender.SendAsync(Panic(), CancellationToken.None);

        Assert.Equal((Dc09SendStatus.Acknowledged, 2), (outcome.Status, outcome.Attempts));
        Assert.Equal(2, receiver.FramesReceived);
        Assert.Equal(1, Assert.Single(receiver.Accepted).Sequence);
        Assert.Empty(receiver.SequenceErrors);
    }

    [Fact]
    public async Task A_receiver_that_is_down_and_comes_up_gets_the_alarm_on_a_retry()
    {
        await using Dc09TestReceiver receiver = await Dc09TestReceiver.CreateDownAsync();
        await using var sender = new Dc09Sender(Options(receiver.Port) with
        {
            Retry = new Dc09RetryPolicy { MaxAttempts = 5, InitialDelay = TimeSpan.FromMilliseconds(300), MaxDelay = TimeSpan.FromSeconds(1) },
        });
        var states = new List<Dc09ConnectionStatus>();
        var refused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        sender.ConnectionStateChanged += (_, status) =>
        {
            states.Add(status);
            if (status.State == Dc09ConnectionState.Disconnected)
            {
                refused.TrySetResult();
            }
        };

        Task<Dc09SendOutcome> sending = sender.SendAsync(Panic(), CancellationToken.None);
        await refused.Task.WaitAsync(TimeSpan.FromSeconds(5));
        receiver.Start();
        Dc09SendOutcome outcome = await sending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(Dc09SendStatus.Acknowledged, outcome.Status);
        Assert.True(outcome.Attempts >= 2);
        Assert.Single(receiver.Accepted);
        Assert.Contains("failed", states[0].Reason, StringComparison.Ordinal);
        Assert.Equal(Dc09ConnectionState.Connected, states[^1].State);
    }

    [Fact]
    public async Task A_silent_receiver_times_out_and_the_retry_on_a_new_connection_is_acknowledged()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        receiver.Script(ReceiverBehavior.Silent);
        await using var sender = new Dc09Sender(Options(receiver.Port) with { AckTimeout = TimeSpan.FromMilliseconds(300) });
        var reasons = new List<string>();
        sender.ConnectionStateChanged += (_, status) => reasons.Add(status.Reason);

        Dc09SendOutcome outcome = await sender.SendAsync(Panic(), CancellationToken.None);

        Assert.Equal((Dc09SendStatus.Acknowledged, 2), (outcome.Status, outcome.Attempts));
        Assert.Equal(2, receiver.FramesReceived);
        Assert.Contains(reasons, r => r.StartsWith("no answer within", StringComparison.Ordinal));
        Assert.Empty(receiver.SequenceErrors);
    }

    [Fact]
    public async Task DUH_is_reported_and_not_retried()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        receiver.Script(ReceiverBehavior.Duh);
        await using var sender = new Dc09Sender(Options(receiver.Port));

        Dc09SendOutcome outcome = await sender.SendAsync(Panic(), CancellationToken.None);

        Assert.Equal(Dc09SendStatus.NotUnderstood, outcome.Status);
        Assert.Equal((1, Dc09Failure.NotUnderstood), (outcome.Attempts, outcome.LastFailure));
        await Task.Delay(200);
        Assert.Equal(1, receiver.FramesReceived);
        Assert.Empty(receiver.Accepted);
    }

    [Fact]
    public async Task Persistent_NAKs_fail_after_the_retry_policy_gives_up()
    {
        // The receiver wants encryption; the sender has no key.
        await using var receiver = new Dc09TestReceiver(Key256);
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port));

        Dc09SendOutcome outcome = await sender.SendAsync(Panic(), CancellationToken.None);

        Assert.Equal((Dc09SendStatus.Failed, 3, Dc09Failure.Nak), (outcome.Status, outcome.Attempts, outcome.LastFailure));
        Assert.All(receiver.Rejections, r => Assert.Equal("Plain", r.Reason));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    public async Task Encrypted_alarms_are_decrypted_by_the_receiver_and_the_encrypted_ACK_by_the_sender(int keyBytes)
    {
        byte[] key = Key256[..keyBytes];
        await using var receiver = new Dc09TestReceiver(key);
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port) with { Key = key });

        Dc09SendOutcome outcome = await sender.SendAsync(Panic(), CancellationToken.None);

        Assert.Equal((Dc09SendStatus.Acknowledged, 1), (outcome.Status, outcome.Attempts));
        Dc09Message received = Assert.Single(receiver.Accepted);
        Assert.True(received.Encrypted);
        Assert.Equal("#1234|1120 01 003", received.Data);
        Assert.Empty(receiver.Rejections);
    }

    [Fact]
    public async Task The_receiver_NAKs_a_frame_with_a_bad_CRC()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        byte[] frame = new Dc09Message
        {
            Token = Dc09Message.ContactIdToken, Sequence = 1, Line = "0", Account = "1234", Data = "#1234|1120 01 003",
            Timestamp = DateTimeOffset.UtcNow,
        }.Encode();
        frame[1] = frame[1] == (byte)'0' ? (byte)'1' : (byte)'0';

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, receiver.Port);
        await client.GetStream().WriteAsync(frame);
        byte[]? reply = await new Dc09FrameReader(client.GetStream()).ReadFrameAsync(new CancellationTokenSource(5000).Token);

        Assert.True(ReceiverResponse.TryParse(reply, default, out ReceiverResponse? response, out _));
        Assert.Equal(ReceiverResponseKind.Nak, response!.Kind);
        Assert.NotNull(response.ReceiverTime);
        Assert.Equal("Crc", Assert.Single(receiver.Rejections).Reason);
        Assert.Empty(receiver.Accepted);
    }

    [Fact]
    public async Task Sequence_numbers_wrap_from_9999_to_0001()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port) with { LastSequence = 9998 });

        foreach (string key in new[] { "dev:1", "dev:2", "dev:3" })
        {
            Assert.Equal(Dc09SendStatus.Acknowledged, (await sender.SendAsync(Panic(key), CancellationToken.None)).Status);
        }

        Assert.Equal([9999, 1, 2], receiver.Accepted.Select(m => m.Sequence));
        Assert.Empty(receiver.SequenceErrors);
        Assert.Equal(2, sender.LastSequence);
    }

    [Fact]
    public async Task The_receiver_notices_a_gap_in_the_sequence()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using (var first = new Dc09Sender(Options(receiver.Port)))
        {
            await first.SendAsync(Panic("dev:1"), CancellationToken.None);
        }

        await using var restartedWithoutItsState = new Dc09Sender(Options(receiver.Port) with { LastSequence = 41 });
        await restartedWithoutItsState.SendAsync(Panic("dev:2"), CancellationToken.None);

        Assert.Equal("R1L0 #1234: 0042 after 0001", Assert.Single(receiver.SequenceErrors));
    }

    [Fact]
    public async Task A_caller_persisted_sequence_number_is_repeated_by_a_new_sender_and_continues_the_series()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using (var first = new Dc09Sender(Options(receiver.Port)))
        {
            Assert.Equal(7, (await first.SendAsync(Panic("dev:7"), 7, CancellationToken.None)).Sequence);
        }

        // A restarted caller repeats the alarm it had no ACK for under its stored number, then goes on.
        await using var restarted = new Dc09Sender(Options(receiver.Port));
        Assert.Equal(7, (await restarted.SendAsync(Panic("dev:7"), 7, CancellationToken.None)).Sequence);
        Assert.Equal(8, (await restarted.SendAsync(Panic("dev:8") with { Account = "5678" }, 8, CancellationToken.None)).Sequence);

        Assert.Equal([7, 7, 8], receiver.Accepted.Select(m => m.Sequence));
        Assert.Equal(["1234", "1234", "5678"], receiver.Accepted.Select(m => m.Account));
        Assert.Empty(receiver.SequenceErrors);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10000)]
    public async Task A_given_sequence_number_outside_0001_to_9999_is_refused(int sequence)
    {
        await using var sender = new Dc09Sender(Options(1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => sender.SendAsync(Panic(), sequence, CancellationToken.None));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(9998, 9999)]
    [InlineData(9999, 1)]
    public void The_series_runs_from_0001_to_9999_and_round_again(int last, int next) =>
        Assert.Equal(next, Dc09Sender.NextSequence(last));

    [Fact]
    public async Task Sending_the_same_idempotency_key_again_repeats_its_sequence_number()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port));

        Dc09SendOutcome first = await sender.SendAsync(Panic("dev:7"), CancellationToken.None);
        Dc09SendOutcome again = await sender.SendAsync(Panic("dev:7"), CancellationToken.None);
        Dc09SendOutcome next = await sender.SendAsync(Panic("dev:8"), CancellationToken.None);

        Assert.Equal((1, 1, 2), (first.Sequence, again.Sequence, next.Sequence));
        Assert.Empty(receiver.SequenceErrors);
    }

    [Fact]
    public async Task The_time_of_occurrence_travels_as_extended_data_when_configured()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port) with { IncludeTimeOfOccurrence = true });

        await sender.SendAsync(Panic() with { OccurredAt = new DateTimeOffset(2026, 1, 31, 21, 5, 0, TimeSpan.FromHours(9)) }, CancellationToken.None);

        Assert.Equal("[H12:05:00,01-31-2026]", Assert.Single(receiver.Accepted).ExtendedData);
    }

    [Fact]
    public async Task An_idle_link_is_supervised_with_a_NULL_message_each_interval()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        FakeTimeProvider time = SupervisionClock();
        TimeSpan interval = TimeSpan.FromSeconds(3);
        await using var sender = new Dc09Sender(Options(receiver.Port) with
        {
            SupervisionInterval = interval,
            SupervisionAccount = "1234",
            TimeProvider = time,
        });
        DateTimeOffset start = time.GetUtcNow();
        using var stop = new CancellationTokenSource();

        Task supervising = sender.RunSupervisionAsync(stop.Token);
        await time.AdvanceUntilAsync(TimeSpan.FromMilliseconds(100), () => receiver.Accepted.Count >= 3, "three NULL messages");
        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => supervising);
        Assert.True(time.GetUtcNow() - start >= 3 * interval, "three NULL messages within " + (time.GetUtcNow() - start));
        Assert.All(receiver.Accepted, m => Assert.Equal((Dc09Message.NullToken, 0, "1234"), (m.Token, m.Sequence, m.Account)));
    }

    [Fact]
    public async Task A_busy_link_sends_no_NULL_messages()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        FakeTimeProvider time = SupervisionClock();
        await using var sender = new Dc09Sender(Options(receiver.Port) with
        {
            SupervisionInterval = TimeSpan.FromSeconds(4),
            SupervisionAccount = "1234",
            TimeProvider = time,
        });

        // An alarm every second for six seconds: the supervision timer comes due and finds the link busy.
        using var stop = new CancellationTokenSource();
        Task supervising = sender.RunSupervisionAsync(stop.Token);
        for (int i = 0; i < 6; i++)
        {
            await sender.SendAsync(Panic($"dev:{i}"), CancellationToken.None);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => supervising);
        Assert.Equal(6, receiver.Accepted.Count);
        Assert.All(receiver.Accepted, m => Assert.Equal(Dc09Message.ContactIdToken, m.Token));
    }

    [Fact]
    public async Task A_failed_supervision_message_shows_in_the_connection_status()
    {
        await using Dc09TestReceiver receiver = await Dc09TestReceiver.CreateDownAsync();
        await using var sender = new Dc09Sender(Options(receiver.Port) with { SupervisionAccount = "1234" });

        Dc09SendOutcome outcome = await sender.SendSupervisionAsync(CancellationToken.None);

        Assert.Equal((Dc09SendStatus.Failed, Dc09Failure.ConnectionFailed), (outcome.Status, outcome.LastFailure));
        Assert.Equal(Dc09ConnectionState.Disconnected, sender.ConnectionStatus.State);
        Assert.Contains("failed", sender.ConnectionStatus.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_while_waiting_for_an_answer_throws()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        receiver.Script(ReceiverBehavior.Silent);
        await using var sender = new Dc09Sender(Options(receiver.Port));

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sender.SendAsync(Panic(), cancel.Token));
    }

    [Theory]
    [InlineData(ReceiverBehavior.AckWrongSequence, "ACK for sequence 0002 while waiting for 0001")]
    [InlineData(ReceiverBehavior.AckUnreadableHeader, "unreadable answer (Header:")]
    [Trait("Category", "HighAvailability")]
    public async Task An_answer_that_does_not_settle_the_message_is_counted_and_the_message_is_not_sent_again(ReceiverBehavior answer, string detail)
    {
        await using var receiver = new Dc09TestReceiver { Otherwise = answer };
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port));

        Dc09SendOutcome outcome = await sender.SendAsync(Panic(), CancellationToken.None);

        Assert.Equal((Dc09SendStatus.AnswerUnreadable, 1, Dc09Failure.MalformedResponse), (outcome.Status, outcome.Attempts, outcome.LastFailure));
        Assert.Contains(detail, outcome.Detail, StringComparison.Ordinal);
        await Task.Delay(200);
        Assert.Single(receiver.Received);
        Assert.Equal(1, sender.UnreadableAnswers);
    }

    [Fact]
    [Trait("Category", "HighAvailability")]
    public async Task A_bare_NAK_is_a_NAK_retried_at_once_not_a_missing_answer()
    {
        await using var receiver = new Dc09TestReceiver { Otherwise = ReceiverBehavior.BareNak };
        receiver.Start();
        await using var sender = new Dc09Sender(Options(receiver.Port) with { AckTimeout = TimeSpan.FromSeconds(30) });

        Dc09SendOutcome refused = await sender.SendAsync(Panic("dev:1"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        receiver.Script(ReceiverBehavior.BareNak);
        receiver.Otherwise = ReceiverBehavior.Ack;
        Dc09SendOutcome taken = await sender.SendAsync(Panic("dev:2"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal((Dc09SendStatus.Failed, 3, Dc09Failure.Nak), (refused.Status, refused.Attempts, refused.LastFailure));
        Assert.Equal("bare NAK (no DC-09 frame)", refused.Detail);
        Assert.Equal((Dc09SendStatus.Acknowledged, 2), (taken.Status, taken.Attempts));
        Assert.Equal([1, 1, 1, 2, 2], receiver.Received.Select(m => m.Sequence));
        Assert.Equal(0, sender.UnreadableAnswers);
    }

    [Theory]
    [InlineData("12ab")]
    [InlineData("12")]
    [InlineData("12345678901234567")]
    [Trait("Category", "HighAvailability")]
    public async Task An_account_receivers_refuse_is_refused_before_sending(string account)
    {
        await using var sender = new Dc09Sender(Options(1));

        await Assert.ThrowsAsync<ArgumentException>(() => sender.SendAsync(Panic() with { Account = account }, CancellationToken.None));
    }

    [Theory]
    [InlineData("a", "0")]
    [InlineData("1", "1234567")]
    [Trait("Category", "HighAvailability")]
    public void A_receiver_number_or_line_prefix_receivers_refuse_is_refused_at_construction(string receiverNumber, string linePrefix) =>
        Assert.Throws<ArgumentException>(() => new Dc09Sender(Options(1) with { ReceiverNumber = receiverNumber, LinePrefix = linePrefix }));

    [Fact]
    public async Task Malformed_answers_never_crash_the_sender()
    {
        byte[]? next = null;
        await using var responder = new RawResponder(() => next!);
        Gen<byte[]> answers = Gen.OneOf(
            ArbMap.Default.GeneratorFor<byte[]>(),
            Dc09MessageTests.BodyGen.Select(Dc09MessageTests.FrameOf),
            from body in Dc09MessageTests.BodyGen
            from cut in Gen.Choose(0, 40)
            let frame = Dc09MessageTests.FrameOf(body)
            select frame[..Math.Min(cut, frame.Length)]);

        Prop.ForAll(answers.ToArbitrary(), answer =>
        {
            next = answer;
            using var sender = new SyncSender(Options(responder.Port) with
            {
                AckTimeout = TimeSpan.FromSeconds(1),
                Retry = new Dc09RetryPolicy { MaxAttempts = 1 },
            });
            Dc09SendOutcome outcome = sender.Send(Panic());
            Assert.Equal(1, outcome.Attempts);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    /// <summary>FsCheck properties are synchronous; this runs one send to completion.</summary>
    private sealed class SyncSender(Dc09SenderOptions options) : IDisposable
    {
        private readonly Dc09Sender sender = new(options);

        public Dc09SendOutcome Send(Dc09Alarm alarm) =>
            sender.SendAsync(alarm, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();

        public void Dispose() => sender.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Answers every frame with whatever bytes it is given, then hangs up.</summary>
    private sealed class RawResponder : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new();
        private readonly Task serving;

        public RawResponder(Func<byte[]> answer)
        {
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            serving = ServeAsync(answer);
        }

        public int Port { get; }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
            stop.Dispose();
        }

        private async Task ServeAsync(Func<byte[]> answer)
        {
            try
            {
                while (true)
                {
                    using TcpClient client = await listener.AcceptTcpClientAsync(stop.Token);
                    try
                    {
                        NetworkStream stream = client.GetStream();
                        if (await new Dc09FrameReader(stream).ReadFrameAsync(stop.Token) is not null)
                        {
                            await stream.WriteAsync(answer(), stop.Token);
                        }
                    }
                    catch (IOException)
                    {
                        // The sender hung up first.
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }
    }
}

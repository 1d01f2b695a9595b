using Anshimi.Gateway.Power;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests.Power;

public sealed class PowerOffCommandTests : IDisposable
{
    private readonly string _directory = GatewayHarness.CreateDirectory();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_configured_command_runs_with_its_arguments()
    {
        string marker = Path.Combine(_directory, "powered-off");
        var command = new PowerOffCommand(Options.Create(new PowerOptions { ShutdownCommand = "touch " + marker }), NullLogger<PowerOffCommand>.Instance);

        await command.PowerOffAsync(CancellationToken.None);

        Assert.True(File.Exists(marker));
    }
}

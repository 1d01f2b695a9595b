using System.CommandLine;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.Release;

/// <summary>
/// <c>anshimi-release keygen | pack | verify</c>: the release officer's tool (firmware/README.md, "Releases"). Exit codes:
/// 0 done, 1 a release that does not verify, 2 bad input (arguments, files, key).
/// </summary>
public sealed class ReleaseCommands(TextWriter console, TextWriter error, TimeProvider time)
{
    public const int Refused = 1;
    public const int BadInput = 2;

    public RootCommand Build()
    {
        var root = new RootCommand("안심이 펌웨어 릴리스 도구 Anshimi firmware release tool: 서명 키 생성, 패키징, 검증 keygen, pack, verify");
        root.Subcommands.Add(Keygen());
        root.Subcommands.Add(Pack());
        root.Subcommands.Add(Verify());
        return root;
    }

    private Command Keygen()
    {
        var output = new Option<string>("--out") { Description = "개인 키 파일 (오프라인 보관) private key file, kept offline", Required = true };
        var command = new Command("keygen", "Ed25519 릴리스 키 생성 make an Ed25519 release key") { output };
        command.SetAction(parse => Run(() =>
        {
            string path = parse.GetValue(output)!;
            using ReleaseKey key = ReleaseKey.Generate();
            key.WritePrivateKeyFile(path);
            string publicHex = Convert.ToHexString(key.PublicKey).ToLowerInvariant();
            File.WriteAllText(path + ".pub", publicHex + Environment.NewLine);
            console.WriteLine("개인 키 private key: " + path + " (0600; 오프라인 보관 keep offline)");
            console.WriteLine("공개 키 public key:  " + publicHex + "  (" + path + ".pub)");
            console.WriteLine("키 ID key id:        " + ReleaseManifest.Hex(key.KeyId));
            return 0;
        }));
        return command;
    }

    private Command Pack()
    {
        var key = new Option<string>("--key") { Description = "개인 키 파일 private key file", Required = true };
        var version = new Option<string>("--version") { Description = "릴리스 버전 release version, e.g. 1.1.0", Required = true };
        var minimum = new Option<string?>("--minimum") { Description = "대체 가능한 최소 버전 oldest version it may replace (기본 default 0.0.0)" };
        var floor = new Option<string?>("--floor") { Description = "롤백 방지 하한 anti-rollback floor (기본 default 0.0.0)" };
        var kinds = new Option<string[]>("--kind") { Description = "장치 종류 device kind: home | shop | voice | battery | doorbell | streetlight", Required = true };
        var boards = new Option<string[]>("--board") { Description = "보드 board: home-bell | voice-bell | battery-bell | doorbell | streetlight", Required = true };
        var entry = new Option<string>("--entry") { Description = "진입 형식 entry type, e.g. Anshimi.Bell.Device.Program", Required = true };
        var chunk = new Option<int>("--chunk-size") { Description = "청크 크기 chunk size, 256-8192", DefaultValueFactory = _ => ReleasePacker.DefaultChunkSize };
        var output = new Option<string>("--out") { Description = "릴리스 파일 release file (.arel)", Required = true };
        var assemblies = new Argument<string[]>("assemblies") { Description = "적재 순서대로 .pe 파일 the .pe files, dependencies first", Arity = ArgumentArity.OneOrMore };
        var command = new Command("pack", "장치 앱을 서명된 릴리스로 패키징 pack a device application into a signed release")
        {
            key, version, minimum, floor, kinds, boards, entry, chunk, output, assemblies,
        };
        command.SetAction(parse => Run(() =>
        {
            ReleaseVersion? v = ReleaseVersion.Parse(parse.GetValue(version));
            ReleaseVersion? min = ReleaseVersion.Parse(parse.GetValue(minimum) ?? "0.0.0");
            ReleaseVersion? f = ReleaseVersion.Parse(parse.GetValue(floor) ?? "0.0.0");
            if (v is null || min is null || f is null)
            {
                return Fail("버전은 major.minor.patch 형식 versions are major.minor.patch (0-65535 each)");
            }

            var files = parse.GetValue(assemblies)!
                .Select(path => new ReleaseAssembly(Path.GetFileName(path), File.ReadAllBytes(path)))
                .ToList();
            using ReleaseKey signer = ReleaseKey.FromPrivateKeyFile(parse.GetValue(key)!);
            var description = new ReleaseDescription(v, min, f, parse.GetValue(kinds)!, parse.GetValue(boards)!, parse.GetValue(entry)!, parse.GetValue(chunk));
            byte[] release = ReleasePacker.Pack(description, files, signer, time.GetUtcNow());
            File.WriteAllBytes(parse.GetValue(output)!, release);
            ReleaseVerification check = new ReleaseVerifier([signer.PublicKey]).Verify(release);
            Describe(check);
            console.WriteLine("작성 written: " + parse.GetValue(output) + " (" + release.Length + " bytes)");
            return 0;
        }));
        return command;
    }

    private Command Verify()
    {
        var keys = new Option<string[]>("--public-key")
        {
            Description = "신뢰하는 공개 키 (hex 또는 .pub 파일) trusted public key, hex or a .pub file",
            Required = true,
        };
        var release = new Argument<string>("release") { Description = "릴리스 파일 release file (.arel)" };
        var command = new Command("verify", "릴리스 검증 verify a release: signature, every chunk, the image") { keys, release };
        command.SetAction(parse => Run(() =>
        {
            var trusted = new List<byte[]>();
            foreach (string given in parse.GetValue(keys)!)
            {
                string hex = File.Exists(given) ? File.ReadAllText(given).Trim() : given;
                if (ReleaseKey.ParsePublicKey(hex) is not { } publicKey)
                {
                    return Fail("공개 키는 64자리 hex a public key is 64 hex digits: " + given);
                }

                trusted.Add(publicKey);
            }

            ReleaseVerification check = new ReleaseVerifier(trusted).Verify(File.ReadAllBytes(parse.GetValue(release)!));
            if (!check.IsValid)
            {
                error.WriteLine("거부 refused (" + check.Reason + "): " + check.Problem);
                return Refused;
            }

            Describe(check);
            console.WriteLine("검증됨 verified");
            return 0;
        }));
        return command;
    }

    private void Describe(ReleaseVerification check)
    {
        if (check.Manifest is not { } manifest)
        {
            return;
        }

        console.WriteLine("릴리스 release " + check.ReleaseId + "  버전 version " + manifest.Version + "  최소 minimum " + manifest.MinimumVersion +
            "  하한 floor " + manifest.Floor);
        console.WriteLine("종류 kinds " + string.Join(",", manifest.Kinds) + "  보드 boards " + string.Join(",", manifest.Boards) +
            "  진입 entry " + manifest.Entry);
        console.WriteLine("이미지 image " + manifest.ImageSize + " bytes, " + manifest.ChunkCount + " × " + manifest.ChunkSize + "  키 ID key id " +
            ReleaseManifest.Hex(manifest.KeyId));
        for (int i = 0; i < manifest.AssemblyNames.Length; i++)
        {
            console.WriteLine("  " + manifest.AssemblyNames[i] + "  " + manifest.AssemblyLengths[i] + " bytes");
        }
    }

    private int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ReleaseKeyException or ArgumentException)
        {
            return Fail(ex.Message);
        }
    }

    private int Fail(string message)
    {
        error.WriteLine("오류 error: " + message);
        return BadInput;
    }
}

using System.Reflection;

[assembly: AssemblyTitle("Anshimi streetlight controller (스마트보안등)")]
[assembly: AssemblyProduct("Anshimi IoT")]
[assembly: AssemblyVersion("1.0.0.0")]

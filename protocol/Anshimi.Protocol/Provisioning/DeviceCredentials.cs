namespace Anshimi.Protocol.Provisioning
{
    /// <summary>
    /// What provisioning gives a device: its 32-byte frame key and its own broker account. Secret:
    /// never log or print it. Also the layout of the sealed plaintext and of the device's flash entry.
    /// </summary>
    public sealed class DeviceCredentials
    {
        public const int KeyLength = 32;
        public const int MaxTextLength = 64;

        public DeviceCredentials(byte[] key, string username, string password)
        {
            Key = key;
            Username = username;
            Password = password;
        }

        public byte[] Key { get; }

        public string Username { get; }

        public string Password { get; }

        /// <summary>key (32) · username length (1) · username · password length (1) · password, ASCII.</summary>
        public byte[] ToBytes()
        {
            byte[] user = ProvisioningText.ToBytes(Username);
            byte[] pass = ProvisioningText.ToBytes(Password);
            var data = new byte[KeyLength + 2 + user.Length + pass.Length];
            System.Array.Copy(Key, 0, data, 0, KeyLength);
            data[KeyLength] = (byte)user.Length;
            System.Array.Copy(user, 0, data, KeyLength + 1, user.Length);
            data[KeyLength + 1 + user.Length] = (byte)pass.Length;
            System.Array.Copy(pass, 0, data, KeyLength + 2 + user.Length, pass.Length);
            return data;
        }

        /// <summary>The credentials in <paramref name="data"/>, or null when the layout or a field is wrong.</summary>
        public static DeviceCredentials? Parse(byte[]? data)
        {
            if (data == null || data.Length < KeyLength + 4)
            {
                return null;
            }

            int userLength = data[KeyLength];
            int passOffset = KeyLength + 1 + userLength;
            if (userLength == 0 || passOffset >= data.Length)
            {
                return null;
            }

            int passLength = data[passOffset];
            if (passLength == 0 || passOffset + 1 + passLength != data.Length)
            {
                return null;
            }

            string? user = ProvisioningText.Read(data, KeyLength + 1, userLength, MaxTextLength);
            string? pass = ProvisioningText.Read(data, passOffset + 1, passLength, MaxTextLength);
            if (user == null || pass == null)
            {
                return null;
            }

            var key = new byte[KeyLength];
            System.Array.Copy(data, 0, key, 0, KeyLength);
            return new DeviceCredentials(key, user, pass);
        }

        /// <summary>Log-safe: the account name only.</summary>
        public override string ToString()
        {
            return Username;
        }
    }
}

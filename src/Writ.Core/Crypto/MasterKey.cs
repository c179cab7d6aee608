using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Writ.Core.Crypto;

/// <summary>
/// The 32-byte AES-256-GCM master key that protects everything Writ keeps encrypted at rest (DESIGN
/// invariant 4). <see cref="Seal"/> uses envelope encryption: a fresh random data key per call encrypts
/// the plaintext; the master key wraps the data key. Both layers bind the caller's associated data, so a
/// sealed value moved to another row or column does not open.
/// </summary>
/// <remarks>
/// Layout, version 1 (all lengths fixed): <c>[1 version][12 wrap nonce][32 wrapped data key][16 wrap tag]
/// [12 data nonce][16 data tag][n ciphertext]</c>. Nonces are random (96 bit); one master-key
/// encryption per seal keeps far below the 2^32 random-nonce limit of NIST SP 800-38D §8.3.
/// The key file holds the key base64-encoded on one line, mode 0600.
/// </remarks>
public sealed class MasterKey : IDisposable
{
    public const int KeySize = 32;
    private const byte Version1 = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 1 + NonceSize + KeySize + TagSize + NonceSize + TagSize;

    private readonly byte[] _key;

    private MasterKey(byte[] key) => _key = key;

    /// <summary>A key from raw bytes (tests, or a key supplied by a KMS).</summary>
    public static MasterKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize) throw new ArgumentException("a master key is 32 bytes", nameof(key));
        var copy = GC.AllocateUninitializedArray<byte>(KeySize, pinned: true);
        key.CopyTo(copy);
        return new MasterKey(copy);
    }

    /// <summary>
    /// Loads the key file. Refuses a file that group or others may access (or that is executable):
    /// anyone who reads it can decrypt every upstream secret.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file's permissions are wider than 0600, or it does not hold a key.</exception>
    public static MasterKey Load(string path)
    {
        var key = KeyFiles.ReadPrivate(path, "master key");
        try
        {
            if (key.Length != KeySize) throw new InvalidOperationException($"The master key file '{path}' does not hold a 32-byte key.");
            return FromBytes(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Writes a new random key to <paramref name="path"/> (mode 0600 from the first byte; see <see cref="KeyFiles.CreatePrivate"/>).
    /// Refuses to overwrite an existing file: losing a master key loses every secret sealed under it.
    /// </summary>
    public static MasterKey CreateFile(string path)
    {
        var key = GC.AllocateUninitializedArray<byte>(KeySize, pinned: true);
        RandomNumberGenerator.Fill(key);
        KeyFiles.CreatePrivate(path, key);
        return new MasterKey(key);
    }

    /// <summary>Encrypts <paramref name="plaintext"/> under a fresh data key; <paramref name="associatedData"/> must be given again to open it.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string associatedData)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var output = new byte[HeaderSize + plaintext.Length];
        var o = output.AsSpan();
        o[0] = Version1;
        var wrapNonce = o.Slice(1, NonceSize);
        var wrappedKey = o.Slice(1 + NonceSize, KeySize);
        var wrapTag = o.Slice(1 + NonceSize + KeySize, TagSize);
        var dataNonce = o.Slice(1 + NonceSize + KeySize + TagSize, NonceSize);
        var dataTag = o.Slice(1 + NonceSize + KeySize + TagSize + NonceSize, TagSize);
        var ciphertext = o[HeaderSize..];

        Span<byte> dataKey = stackalloc byte[KeySize];
        RandomNumberGenerator.Fill(dataKey);
        RandomNumberGenerator.Fill(wrapNonce);
        RandomNumberGenerator.Fill(dataNonce);
        var aad = AssociatedData(associatedData);
        try
        {
            aad[0] = (byte)'K';
            using (var wrap = new AesGcm(_key, TagSize)) wrap.Encrypt(wrapNonce, dataKey, wrappedKey, wrapTag, aad);
            aad[0] = (byte)'D';
            using (var data = new AesGcm(dataKey, TagSize)) data.Encrypt(dataNonce, plaintext, ciphertext, dataTag, aad);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
        return output;
    }

    /// <summary>Decrypts what <see cref="Seal"/> produced.</summary>
    /// <exception cref="CryptographicException">The data was altered, sealed under another master key, or with other associated data.</exception>
    public byte[] Open(byte[] @sealed, string associatedData)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(@sealed);
        if (@sealed.Length < HeaderSize) throw new CryptographicException("The sealed data is truncated.");
        if (@sealed[0] != Version1) throw new CryptographicException("The sealed data has an unknown format version.");
        var s = @sealed.AsSpan();
        var wrapNonce = s.Slice(1, NonceSize);
        var wrappedKey = s.Slice(1 + NonceSize, KeySize);
        var wrapTag = s.Slice(1 + NonceSize + KeySize, TagSize);
        var dataNonce = s.Slice(1 + NonceSize + KeySize + TagSize, NonceSize);
        var dataTag = s.Slice(1 + NonceSize + KeySize + TagSize + NonceSize, TagSize);
        var ciphertext = s[HeaderSize..];

        var aad = AssociatedData(associatedData);
        Span<byte> dataKey = stackalloc byte[KeySize];
        var plaintext = new byte[ciphertext.Length];
        try
        {
            aad[0] = (byte)'K';
            using (var wrap = new AesGcm(_key, TagSize)) wrap.Decrypt(wrapNonce, wrappedKey, wrapTag, dataKey, aad);
            aad[0] = (byte)'D';
            using (var data = new AesGcm(dataKey, TagSize)) data.Decrypt(dataNonce, ciphertext, dataTag, plaintext, aad);
            return plaintext;
        }
        catch
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>[role byte][version][u32 length][UTF-8 associated data]: domain-separates the two layers and binds the format version.</summary>
    private static byte[] AssociatedData(string associatedData)
    {
        ArgumentNullException.ThrowIfNull(associatedData);
        var length = Encoding.UTF8.GetByteCount(associatedData);
        var aad = new byte[6 + length];
        aad[1] = Version1;
        BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(2), (uint)length);
        Encoding.UTF8.GetBytes(associatedData, aad.AsSpan(6));
        return aad;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }
}

package io.caravan.channel.email.transport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * TLS to a host reached by an address our own resolver found: the socket is opened to the address, but the server
 * name sent (SNI) and the name the certificate must carry are the host's ({@code HTTPS} endpoint identification, RFC
 * 6125), whatever host string the mail library passes in. With {@code verify} off (opportunistic TLS) any certificate
 * is taken: that encrypts against listeners and proves nothing.
 */
final class NamedTlsSocketFactory extends SSLSocketFactory {

    private final SSLSocketFactory delegate;
    private final String name;
    private final boolean verify;

    private NamedTlsSocketFactory(SSLContext context, String name, boolean verify) {
        this.delegate = context.getSocketFactory();
        this.name = name;
        this.verify = verify;
    }

    static NamedTlsSocketFactory verifying(SSLContext context, String name) {
        return new NamedTlsSocketFactory(context, name, true);
    }

    static NamedTlsSocketFactory opportunistic(SSLContext anyCertificate, String name) {
        return new NamedTlsSocketFactory(anyCertificate, name, false);
    }

    SSLSocket layer(Socket plain, int port) throws IOException {
        return (SSLSocket) createSocket(plain, name, port, true);
    }

    private Socket named(Socket s) {
        SSLSocket ssl = (SSLSocket) s;
        SSLParameters p = ssl.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(name)));
        p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        if (verify) {
            p.setEndpointIdentificationAlgorithm("HTTPS");
        }
        ssl.setSSLParameters(p);
        return ssl;
    }

    @Override
    public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
        return named(delegate.createSocket(s, name, port, autoClose));
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return named(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return named(delegate.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return named(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        return named(delegate.createSocket(address, port, localAddress, localPort));
    }

    @Override
    public String[] getDefaultCipherSuites() {
        return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return delegate.getSupportedCipherSuites();
    }
}

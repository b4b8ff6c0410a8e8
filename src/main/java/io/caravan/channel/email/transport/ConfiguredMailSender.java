package io.caravan.channel.email.transport;

import jakarta.mail.Session;
import java.util.Properties;
import org.apache.camel.component.mail.JavaMailSender;
import org.apache.camel.component.mail.MailAuthenticator;

/**
 * camel-mail's sender interface for senders configured by the hub (an adapter file, {@code caravan.email.direct}):
 * what an endpoint URI would set - host, port, credentials, properties - is ignored or refused, so a route cannot
 * weaken the TLS the hub requires.
 */
abstract class ConfiguredMailSender implements JavaMailSender {

    private final Session session;

    ConfiguredMailSender(Session session) {
        this.session = session;
    }

    @Override
    public Session getSession() {
        return session;
    }

    @Override
    public Properties getJavaMailProperties() {
        return session.getProperties();
    }

    @Override
    public void setJavaMailProperties(Properties javaMailProperties) {
        throw new UnsupportedOperationException("configured by the hub, not the endpoint");
    }

    @Override
    public void addAdditionalJavaMailProperty(String key, String value) {
        throw new UnsupportedOperationException("configured by the hub, not the endpoint");
    }

    @Override
    public void setSession(Session session) {
        throw new UnsupportedOperationException("configured by the hub, not the endpoint");
    }

    @Override
    public void setHost(String host) {
        // the endpoint URI's host is a label
    }

    @Override
    public void setPort(int port) {
        // as setHost
    }

    @Override
    public void setUsername(String username) {
        // credentials come from environment variables named in the configuration
    }

    @Override
    public void setPassword(String password) {
        // as setUsername
    }

    @Override
    public void setProtocol(String protocol) {
        // as setHost
    }

    @Override
    public void setAuthenticator(MailAuthenticator authenticator) {
        // as setUsername
    }

    @Override
    public MailAuthenticator getAuthenticator() {
        return null;
    }
}

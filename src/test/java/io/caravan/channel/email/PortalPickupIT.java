package io.caravan.channel.email;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.caravan.channel.email.transport.Outbox;
import io.caravan.support.HubApi;
import io.caravan.support.MovableClockConfig;
import io.caravan.support.MutableClock;
import io.caravan.support.TestHub;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The portal pickup as a patient meets it, in headless Chromium (Debian's chromium and chromedriver): the PHI-free
 * notice arrives, its link opens the page, a one-time code is emailed, code + date of birth show the message; the view
 * is a disclosure in the audit trail; the code works once; wrong answers lock the pickup; an expired link is refused.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(MovableClockConfig.class)
@DirtiesContext
class PortalPickupIT {

    static final TestHub HUB = TestHub.named("portal");
    static final Map<String, Object> VISIT = Map.of("appointmentDate", "2026-12-03", "appointmentTime", "09:30",
            "provider", "Dr Oseifrancis", "clinicPhone", "+1 217 555 0100");
    static final Pattern LINK = Pattern.compile("http://localhost:8080(/portal/[A-Za-z0-9._-]+)");
    static final Pattern CODE = Pattern.compile("one-time code is (\\d{6})");

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry r) {
        HUB.register(r);
        r.add("caravan.email.portal.code-interval", () -> "0s");
    }

    static WebDriver browser;

    @BeforeAll
    static void chromium() {
        ChromeOptions o = new ChromeOptions();
        o.setBinary("/usr/bin/chromium");
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new java.io.File("/usr/bin/chromedriver")).usingAnyFreePort().build();
        browser = new ChromeDriver(service, o);
        browser.manage().timeouts().implicitlyWait(Duration.ofSeconds(2));
    }

    @AfterAll
    static void quit() {
        if (browser != null) {
            browser.quit();
        }
    }

    @Autowired
    TestRestTemplate rest;
    @Autowired
    Outbox outbox;
    @Autowired
    MutableClock clock;
    @LocalServerPort
    int port;

    String local(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    String eml(String messageId) throws Exception {
        return Files.readString(outbox.dir().resolve(messageId + ".eml"), StandardCharsets.ISO_8859_1);
    }

    /** Sends the PHI reminder to a patient without keys; returns the pickup page's path from the notice. */
    String noticeLink(UUID contact) throws Exception {
        JsonNode m = new EmailApi(rest).sendAndSettle(contact, "appointment-reminder", "treatment", VISIT);
        assertThat(m.get("protection").asText()).as(m.toString()).isEqualTo("portal");
        String notice = eml(m.get("id").asText());
        assertThat(notice).doesNotContain("Oseifrancis");
        Matcher link = LINK.matcher(notice);
        assertThat(link.find()).as(notice).isTrue();
        return link.group(1);
    }

    /** The code from the newest portal-code message sent to the contact. */
    String emailedCode(UUID contact) throws Exception {
        EmailApi api = new EmailApi(rest);
        JsonNode[] code = new JsonNode[1];
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> {
            JsonNode all = HubApi.JSON.readTree(api.as(TestHub.INTEGRATION).getForEntity(
                    "/api/contacts/{id}/messages", String.class, contact).getBody());
            code[0] = null;
            for (JsonNode m : all) {
                if ("portal-code".equals(m.get("template").asText()) && "sent".equals(m.get("status").asText())) {
                    code[0] = m;
                }
            }
            return code[0] != null;
        });
        Matcher c = CODE.matcher(eml(code[0].get("id").asText()));
        assertThat(c.find()).isTrue();
        return c.group(1);
    }

    /** An element of the current page; a failure shows the page. */
    static WebElement byId(String id) {
        By by = By.id(id);
        try {
            return browser.findElement(by);
        } catch (org.openqa.selenium.NoSuchElementException e) {
            throw new AssertionError("no " + by + " on " + browser.getCurrentUrl() + ":\n" + browser.getPageSource());
        }
    }

    /** Clicks a form's button and waits until the next page has replaced this one. */
    static void submit(String button) {
        WebElement page = browser.findElement(By.tagName("html"));
        byId(button).click();
        new org.openqa.selenium.support.ui.WebDriverWait(browser, Duration.ofSeconds(10)).until(d -> {
            try {
                page.isEnabled();
                return false;
            } catch (org.openqa.selenium.StaleElementReferenceException gone) {
                return true;
            } catch (org.openqa.selenium.WebDriverException e) {
                // Chromium sometimes answers a check racing the navigation with an inspector error instead of
                // "stale element": the old page is gone all the same
                if (String.valueOf(e.getMessage()).contains("does not belong to the document")) {
                    return true;
                }
                throw e;
            }
        });
    }

    void answer(String code, String birthDate) {
        byId("code").sendKeys(code);
        WebElement dob = byId("factor");
        dob.sendKeys(birthDate.substring(5, 7) + birthDate.substring(8, 10) + birthDate.substring(0, 4));
        submit("read");
    }

    @Test
    void aPatientReadsTheMessageWithAnEmailedCodeAndTheirDateOfBirthOnce() throws Exception {
        UUID id = HubApi.register(HUB, rest, "PORTAL-1", "Quenby", "Marisol", "portal.reader@example.org", "");
        String link = noticeLink(id);
        assertThat(link).doesNotContain(id.toString());

        browser.get(local(link));
        assertThat(browser.getTitle()).isEqualTo("Your secure message");
        assertThat(browser.getPageSource()).doesNotContain("Oseifrancis");
        submit("send-code");
        assertThat(byId("sent").getText()).contains("one-time code");
        String code = emailedCode(id);

        answer(code, "1980-01-01");
        WebElement message = byId("message");
        assertThat(message.getText()).contains("Dr Oseifrancis").contains("2026-12-03");

        JsonNode acc = HubApi.JSON.readTree(new EmailApi(rest).as(TestHub.COMPLIANCE).getForEntity(
                "/api/contacts/{id}/disclosures", String.class, id).getBody()).get("disclosures");
        assertThat(acc.toString()).contains("portal pickup viewed");

        // the same code again (a second visit, or someone with the link and the mailbox later): refused
        browser.get(local(link));
        answer(code, "1980-01-01");
        assertThat(byId("no-code").getText()).contains("used or it expired");
    }

    @Test
    void wrongAnswersLockThePickupAndExpiredOrForgedLinksAreRefused() throws Exception {
        UUID id = HubApi.register(HUB, rest, "PORTAL-2", "Quenby", "Marisol", "portal.guess@example.org", "");
        String link = noticeLink(id);
        browser.get(local(link));
        submit("send-code");
        String code = emailedCode(id);

        answer(code, "1981-02-02");
        assertThat(byId("wrong").getText()).contains("4 attempts left");
        for (int i = 0; i < 3; i++) {
            // six digits, as the form requires (the browser refuses to submit anything else)
            answer(String.format("%06d", (Integer.parseInt(code) + 1 + i) % 1_000_000), "1980-01-01");
        }
        answer("000000".equals(code) ? "111111" : "000000", "1980-01-01");
        assertThat(byId("locked").getText()).contains("Too many");
        browser.get(local(link));
        byId("code").sendKeys(code);
        byId("factor").sendKeys("01011980");
        submit("read");
        assertThat(browser.findElements(By.id("message"))).as("locked even for the right answer").isEmpty();

        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(local(link))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(page.headers().firstValue("Content-Security-Policy").orElse("")).contains("default-src 'none'");
        assertThat(page.headers().firstValue("Cache-Control").orElse("")).contains("no-store");
        assertThat(page.body()).doesNotContain("<script").doesNotContain("https://");

        clock.ahead = Duration.ofDays(15);
        try {
            browser.get(local(link));
            assertThat(byId("expired").getText()).contains("can no longer be read");
            assertThat(http.send(HttpRequest.newBuilder(URI.create(local(link))).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(410);
        } finally {
            clock.ahead = Duration.ZERO;
        }
        String forged = link.substring(0, link.length() - 4) + (link.endsWith("AAAA") ? "BBBB" : "AAAA");
        assertThat(http.send(HttpRequest.newBuilder(URI.create(local(forged))).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
    }
}

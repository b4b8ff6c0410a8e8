package io.caravan;

import static com.tngtech.archunit.base.DescribedPredicate.describe;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import java.util.Optional;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.RestController;

/**
 * The package rules (README "Layout"). Packages are by domain and dependencies point down the flow: intake (ingest)
 * → mapping → contact (+ its event log) → workflow → consent → channel → audit; crypto and system are support code
 * any package may use. Checked on the bytecode of the main classes, so a fully qualified name counts as an import.
 */
@AnalyzeClasses(packages = "io.caravan", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    private static final String[] SUPPORT = {"io.caravan.crypto..", "io.caravan.system.."};

    /** A web controller: by name or by its Spring stereotype. */
    private static final DescribedPredicate<JavaClass> CONTROLLER = describe("a controller",
            c -> c.getSimpleName().endsWith("Controller") || c.isAnnotatedWith(RestController.class)
                    || c.isAnnotatedWith(Controller.class));

    /** A controller or a class nested in one (its request records, lambdas' synthetic classes). */
    private static final DescribedPredicate<JavaClass> IN_A_CONTROLLER = describe("part of a controller", c -> {
        for (Optional<JavaClass> k = Optional.of(c); k.isPresent(); k = k.get().getEnclosingClass()) {
            if (CONTROLLER.test(k.get())) {
                return true;
            }
        }
        return false;
    });

    @ArchTest
    static final ArchRule no_cycles_between_top_level_packages = slices().matching("io.caravan.(*)..")
            .should().beFreeOfCycles()
            .because("a cycle makes two packages one: neither can be changed, tested or replaced (a new intake "
                    + "source, a new channel, a Kafka-backed event log) without the other");

    @ArchTest
    static final ArchRule intake_and_mapping_never_use_a_channel = noClasses()
            .that().resideInAnyPackage("io.caravan.ingest..", "io.caravan.mapping..")
            .should().dependOnClassesThat().resideInAPackage("io.caravan.channel..")
            .because("intake ends at the store's commit: what is sent, and how, is decided downstream, so a new "
                    + "source or a new channel never needs the other changed");

    @ArchTest
    static final ArchRule consent_never_uses_a_channel = noClasses()
            .that().resideInAPackage("io.caravan.consent..")
            .should().dependOnClassesThat().resideInAPackage("io.caravan.channel..")
            .because("the gate decides for every channel alike; a channel plugs in below it without the gate "
                    + "knowing it exists");

    @ArchTest
    static final ArchRule audit_uses_only_support_code = classes()
            .that().resideInAPackage("io.caravan.audit..")
            .should().onlyDependOnClassesThat(resideOutsideOfPackage("io.caravan..")
                    .or(resideInAnyPackage("io.caravan.audit..", SUPPORT[0], SUPPORT[1])))
            .because("every package records into the audit trail, so it sits below all of them; what it needs "
                    + "from above (a contact's merged records) it asks through its own interface");

    @ArchTest
    static final ArchRule support_code_uses_no_domain_package = classes()
            .that().resideInAnyPackage(SUPPORT)
            .should().onlyDependOnClassesThat(resideOutsideOfPackage("io.caravan..").or(resideInAnyPackage(SUPPORT)))
            .because("crypto and system are used by every package; one import of a domain package from them is a "
                    + "cycle through the whole hub");

    @ArchTest
    static final ArchRule the_store_does_not_know_its_consumers = noClasses()
            .that().resideInAPackage("io.caravan.contact..")
            .should().dependOnClassesThat().resideInAnyPackage("io.caravan.ingest..", "io.caravan.mapping..",
                    "io.caravan.eventlog..", "io.caravan.workflow..", "io.caravan.consent..",
                    "io.caravan.channel..")
            .because("the store takes one canonical change record from any source and appends trigger events "
                    + "to the event log; sources sit above it and consumers read the log through their cursors, "
                    + "so adding either never touches the store");

    @ArchTest
    static final ArchRule only_controllers_use_controllers = noClasses()
            .that(DescribedPredicate.not(IN_A_CONTROLLER))
            .should().dependOnClassesThat(CONTROLLER.and(resideInAnyPackage("io.caravan..")))
            .because("a controller is the web edge of its package: domain code calling it would depend on HTTP "
                    + "and on the security rules of an endpoint it does not serve");
}

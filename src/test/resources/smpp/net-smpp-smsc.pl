#!/usr/bin/perl
# An SMSC written with Net::SMPP (Debian libnet-smpp-perl), an SMPP implementation independent of jsmpp, for
# SmsNetSmppIT. Usage: net-smpp-smsc.pl <port> <mo-text>. Accepts one transceiver bind, answers every submit_sm with
# an id and a DELIVRD receipt, and after the first submit sends <mo-text> back from that text's destination as an MO
# text. Prints what it saw on stdout, one line each, for the test to read.
use strict;
use warnings;
use Net::SMPP;

$| = 1;
my ($port, $mo) = @ARGV;
# the listening socket's timeout is Net::SMPP's connection timeout (5 s by default): the hub binds only when its
# first text goes, well after that
my $listener = Net::SMPP->new_listen('127.0.0.1', port => $port, smpp_version => 0x34, timeout => 600)
    or die "cannot listen: $!";
print "LISTENING\n";
my $smpp = $listener->accept or die "accept: $!";
my $n = 0;
while (my $pdu = $smpp->read_pdu()) {
    my $cmd = $pdu->{cmd};
    if ($cmd == Net::SMPP::CMD_bind_transceiver) {
        $smpp->bind_transceiver_resp(seq => $pdu->{seq}, system_id => 'net-smpp');
        print "BOUND transceiver $pdu->{system_id}\n";
    } elsif ($cmd == Net::SMPP::CMD_enquire_link) {
        $smpp->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == Net::SMPP::CMD_submit_sm) {
        $n++;
        my $id = sprintf("%08x", 0xA000 + $n);
        $smpp->submit_sm_resp(seq => $pdu->{seq}, message_id => $id);
        printf "SUBMIT %s %s %d %d %s\n", $id, $pdu->{destination_addr}, $pdu->{data_coding},
            $pdu->{registered_delivery}, unpack("H*", $pdu->{short_message});
        if ($pdu->{registered_delivery} & 1) {
            $smpp->deliver_sm(async => 1, source_addr_ton => 1, source_addr_npi => 1,
                source_addr => $pdu->{destination_addr}, dest_addr_ton => 1, dest_addr_npi => 1,
                destination_addr => $pdu->{source_addr}, esm_class => 0x04,
                short_message => "id:$id sub:001 dlvrd:001 submit date:2601010000 done date:2601010001"
                    . " stat:DELIVRD err:000 text:");
        }
        if ($n == 1 && defined $mo) {
            $smpp->deliver_sm(async => 1, source_addr_ton => 1, source_addr_npi => 1,
                source_addr => $pdu->{destination_addr}, dest_addr_ton => 1, dest_addr_npi => 1,
                destination_addr => $pdu->{source_addr}, esm_class => 0, short_message => $mo);
            print "MO sent\n";
        }
    } elsif ($cmd == Net::SMPP::CMD_deliver_sm_resp) {
        print "DELIVER_SM_RESP $pdu->{status}\n";
    } elsif ($cmd == Net::SMPP::CMD_unbind) {
        $smpp->unbind_resp(seq => $pdu->{seq});
        print "UNBOUND\n";
        last;
    } else {
        $smpp->generic_nack(seq => $pdu->{seq}, status => 3);
    }
}

import { createHash } from 'node:crypto';
import { caseFromFlat, notesFromFlat } from '../src/canonical';
import { ReplyDecodeError, decodeBody, findResponseField, parseJsonValues, parseXmlSafely, rowsOf } from '../src/codec';
import { customerParams, toIcaseworkDateTime } from '../src/params';
import type { Party } from 'caseway/core';

// Shapes as recorded in public fixtures (mysociety/icasework-ruby): lower-case createcase reply, flat dotted Cases.
const CREATECASE = '<?xml version="1.0" encoding="UTF-8"?><createcaseresponse><caseid>492233</caseid><team>INBOXIR</team></createcaseresponse>';
const DETAILS = `<?xml version="1.0" encoding="UTF-8"?>
<Cases RequestId="487347">
<Case>
<CaseDetailsInformationRequest.Details>y</CaseDetailsInformationRequest.Details>
<CaseDetails.CaseId>487347</CaseDetails.CaseId>
<CaseDetails.ExternalId></CaseDetails.ExternalId>
<CaseDetails.CaseType>Information request</CaseDetails.CaseType>
<CaseStatus.Status>Some information sent but not all held</CaseStatus.Status>
<CaseStatusReceipt.DateReceived>2021-02-15</CaseStatusReceipt.DateReceived>
<CaseStatusReceipt.TimeCreated>2021-02-15T16:42:19</CaseStatusReceipt.TimeCreated>
<CaseStatusTouchTimes.LastUpdatedTime>2021-03-08T16:17:29</CaseStatusTouchTimes.LastUpdatedTime>
<MainParty.Reference>214641</MainParty.Reference>
<MainParty.FullName>Bloggs, Fred</MainParty.FullName>
<MainParty.FirstName>Fred</MainParty.FirstName>
<MainParty.LastName>Bloggs</MainParty.LastName>
<MainParty.Address>Flat B
Canterbury Court
Peel Street</MainParty.Address>
<MainParty.Organisation>Organisation b</MainParty.Organisation>
<MainParty.Category>Resident</MainParty.Category>
<MainParty.Notes>likes letters</MainParty.Notes>
<MainParty.Phone></MainParty.Phone>
</Case>
</Cases>`;

describe('iCasework codec', () => {
  it('reads the lower-case createcase reply (XML and JSON)', () => {
    expect(findResponseField(decodeBody(CREATECASE, 'xml', 'text/xml'), 'createcaseresponse', 'caseid')).toBe('492233');
    expect(findResponseField(decodeBody('{"createcaseresponse":{"caseid":"77"}}', 'json', 'application/json'), 'createcaseresponse', 'caseid')).toBe('77');
  });

  it('reads flat dotted <Cases><Case> and the empty <Cases />', () => {
    const rows = rowsOf(parseXmlSafely(DETAILS));
    expect(rows).toHaveLength(1);
    expect(rows[0]['CaseDetails.CaseId']).toBe('487347');
    expect(rows[0]['CaseDetails.ExternalId']).toBe('');
    expect(rows[0]['MainParty.Address']).toBe('Flat B\nCanterbury Court\nPeel Street');
    expect(rowsOf(parseXmlSafely('<?xml version="1.0" encoding="UTF-8"?>\n<Cases />\n'))).toEqual([]);
    expect(rowsOf(parseXmlSafely('<Cases><Case><CaseDetails.CaseId>1</CaseDetails.CaseId></Case><Case><CaseDetails.CaseId>2</CaseDetails.CaseId></Case></Cases>')).map((r) => r['CaseDetails.CaseId'])).toEqual(['1', '2']);
  });

  it('splits JSON objects back to back, even with }{ inside strings', () => {
    expect(parseJsonValues('{"a":"x}{y"}{"a":"2"}\n{"a":"\\"}{"}')).toEqual([{ a: 'x}{y' }, { a: '2' }, { a: '"}{' }]);
    expect(parseJsonValues('[{"a":1}]')).toEqual([[{ a: 1 }]]);
    expect(() => parseJsonValues('{"a":1')).toThrow(ReplyDecodeError);
    const rows = decodeBody('{"CaseDetails.CaseId":"1"}{"CaseDetails.CaseId":"2"}', 'json', '').flatMap((d) => rowsOf(d));
    expect(rows.map((r) => r['CaseDetails.CaseId'])).toEqual(['1', '2']);
  });

  it('refuses DOCTYPE/ENTITY, malformed XML and HTML', () => {
    expect(() => parseXmlSafely('<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>')).toThrow(/DOCTYPE/);
    expect(() => parseXmlSafely('<a><b></a>')).toThrow(/malformed/);
    expect(() => decodeBody('<!DOCTYPE html><html></html>', 'xml', 'text/html')).toThrow(/HTML/);
    expect(() => decodeBody('hello', 'xml', 'text/plain')).toThrow(/not XML/);
  });

  it('maps a flat record to a canonical case, keeping every other field in extensions', () => {
    const flat = rowsOf(parseXmlSafely(DETAILS))[0];
    const c = caseFromFlat(flat, { connection: 'icw' });
    expect(c.type).toBe('Information request');
    expect(c.status).toBe('Some information sent but not all held');
    expect(c.receivedAt).toBe('2021-02-15');
    expect(c.createdAt).toBe('2021-02-15T16:42:19');
    expect(c.updatedAt).toBe('2021-03-08T16:17:29');
    expect(c.references).toEqual([{ system: 'icasework', connection: 'icw', id: '487347', kind: 'caseid' }]);
    expect(c.parties).toEqual([
      {
        id: '214641',
        roles: ['customer'],
        person: { forenames: 'Fred', surname: 'Bloggs', fullName: 'Bloggs, Fred', attributes: { category: 'Resident' } },
        organisation: { name: 'Organisation b' },
        addresses: [{ lines: ['Flat B', 'Canterbury Court', 'Peel Street'] }],
        extensions: { icasework: { Id: '214641', Notes: 'likes letters' } },
      },
    ]);
    // The type's own group is kept as is in details and, by parameter name, in fields (sent back by createcase/updatecase).
    expect(c.extensions!.icasework).toEqual({
      caseId: '487347',
      details: { 'CaseDetailsInformationRequest.Details': 'y' },
      fields: { Details: 'y' },
      typeGroup: 'CaseDetailsInformationRequest',
    });
    expect(c.summary).toBe('y');
  });

  it('round-trips a canonical customer through createcase parameters', () => {
    const flat = rowsOf(parseXmlSafely(DETAILS))[0];
    const party = caseFromFlat(flat, { connection: 'icw' }).parties[0];
    expect(customerParams(party, { useIdFromParty: true })).toEqual({
      Id: '214641',
      FirstName: 'Fred',
      Surname: 'Bloggs',
      Organisation: 'Organisation b',
      Address: 'Flat B\nCanterbury Court\nPeel Street',
      Category: 'Resident',
    });
  });

  it("builds a party's customer parameters in the seed's order: only fields with a value, extension values winning, extension-only fields last", () => {
    const party: Party = {
      id: 'p-1',
      roles: ['applicant'],
      person: {
        title: 'Ms',
        forenames: 'Ada',
        surname: 'Lovelace',
        birthDate: '1815-12-10',
        gender: '',
        attributes: { ethnic_origin: 'Other', 'Disability 2': 'Sight', disability2: 'ignored: the first spelling wins', 'age-group': 35, faith: null },
      },
      addresses: [{ lines: ['1 St James Square', ''], town: 'London' }],
      contacts: [
        { kind: 'phone', value: '+44 20 0000 0001' },
        { kind: 'email', value: 'old@example.org' },
        { kind: 'email', value: 'ada@example.org', preferred: true },
      ],
      preferences: { language: 'en-GB' },
      extensions: { icasework: { Surname: 'King', Mobile: '+44 7700 900000', Id: '77', NewId: '78', County: '', City: 'London' } },
    };
    const params = customerParams(party);
    expect(params).toEqual({
      Title: 'Ms',
      FirstName: 'Ada',
      Surname: 'King',
      Address: '1 St James Square',
      Town: 'London',
      Email: 'ada@example.org',
      Phone: '+44 20 0000 0001',
      Mobile: '+44 7700 900000',
      ContactLanguage: 'en',
      EthnicOrigin: 'Other',
      DateOfBirth: '1815-12-10',
      AgeGroup: '35',
      Disability2: 'Sight',
      Id: '77',
      NewId: '78',
      City: 'London',
    });
    // Form parameters are sent in this order: the derived fields in the seed's order, then what only the extension has.
    expect(Object.keys(params)).toEqual(['Title', 'FirstName', 'Surname', 'Address', 'Town', 'Email', 'Phone', 'Mobile', 'ContactLanguage', 'EthnicOrigin', 'DateOfBirth', 'AgeGroup', 'Disability2', 'Id', 'NewId', 'City']);
    // Asked to use the party's own id, Id comes first; the extension's Id still wins over it.
    expect(Object.keys(customerParams(party, { useIdFromParty: true }))[0]).toBe('Id');
    expect(customerParams(party, { useIdFromParty: true }).Id).toBe('77');
    expect(customerParams({ ...party, extensions: {} }, { useIdFromParty: true }).Id).toBe('p-1');
    expect(customerParams({ ...party, extensions: {} }).Id).toBeUndefined();
    // A language given by the extension is held to ISO 639-1 the same way.
    expect(customerParams({ ...party, extensions: { icasework: { ContactLanguage: 'fr_FR' } } }).ContactLanguage).toBe('fr');
  });

  it('reads numbered note groups', () => {
    const notes = notesFromFlat({ 'CaseNote2.Text': 'b', 'CaseNote1.Text': 'a', 'CaseNote1.Id': 'N1', 'CaseNote1.SelfServiceAccess': 'true', 'CaseNote3.Text': '' });
    expect(notes.map((n) => [n.text, n.id, n.visibleToCustomer, n.key])).toEqual([
      ['a', 'N1', true, 'id:N1'],
      // A note without an id is keyed by a digest: the key is kept in Redis, the note's text must not be.
      ['b', undefined, undefined, `t:${createHash('sha256').update('||b').digest('hex').slice(0, 32)}`],
    ]);
  });

  it('formats dates the way the docs show', () => {
    expect(toIcaseworkDateTime('2024-05-06T07:08:09.123Z')).toBe('2024-05-06T07:08:09');
    expect(toIcaseworkDateTime('2024-05-06T09:08:09+02:00')).toBe('2024-05-06T07:08:09');
    expect(toIcaseworkDateTime('2024-05-06')).toBe('2024-05-06T00:00:00');
    expect(toIcaseworkDateTime('garbage')).toBeUndefined();
  });
});
